"""Queue (and topic) resources: list, create, metadata, JSON-patch, delete, stats, purge.

:func:`build_router` builds the routes for one :class:`~tidings.api.kinds.Kind`, so topics
(spec 2.12) get exactly the queue semantics under ``/v2/topics`` in their own namespace.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import JsonValue

from tidings.api import openapi as doc
from tidings.api.body import content_length, read_body
from tidings.api.errors import HttpError
from tidings.api.kinds import Kind
from tidings.api.params import query
from tidings.api.pipeline import admit, target_of
from tidings.api.render import empty, json_response, next_link, utc_timestamp
from tidings.common import schemas as s
from tidings.common.errors import InvalidBody, InvalidRequest
from tidings.common.settings import CommonSettings
from tidings.common.validation import (
    PATCH_CONTENT_TYPE,
    parse_bool_param,
    parse_int_param,
    parse_json,
    parse_json_object,
    parse_purge,
    parse_queue_patch,
    reserved_metadata_defaults,
    validate_queue_list_limit,
    validate_queue_metadata,
    validate_queue_metadata_length,
    with_reserved_defaults,
)

UNSUPPORTED_PATCH = (
    "Accepted media type for PATCH: {'Accept-Patch': "
    "'application/openstack-messaging-v2.0-json-patch'}."
)


def _filter_value(text: str) -> JsonValue:
    """Metadata filter values are ints when they parse as one (spec 2.5.1)."""
    try:
        return int(text) if len(text) <= 40 else text
    except ValueError:
        return text


async def read_small_body(request: Request, limit: int) -> bytes | None:
    """A body bounded like queue metadata (claims, purge): None when absent or empty."""
    length = content_length(request)
    if length is not None and length > limit:
        raise InvalidRequest(f"Request body is too large. Max size: {limit}")
    if not length:
        return None
    return await read_body(request, length)


def build_router(kind: Kind) -> APIRouter:
    router = APIRouter(tags=[kind.collection])
    collection = f"/v2/{kind.collection}"
    item = f"{collection}/{{{kind.param}}}"
    # Parameters the list understands; any other becomes a metadata filter. Topics have no
    # with_count (spec 2.12), so there it is a filter like any unknown key.
    recognised: tuple[str, ...] = ("marker", "limit", "detailed", "name")
    if kind.name == "queue":
        recognised += ("with_count",)

    def defaults(settings: CommonSettings) -> dict[str, JsonValue]:
        return reserved_metadata_defaults(settings, topic=kind.name == "topic")

    @router.get(
        collection,
        **doc.operation(
            {
                200: {
                    "type": "object",
                    "properties": {
                        kind.collection: {"type": "array", "items": {"type": "object"}},
                        "links": doc.LINKS_SCHEMA,
                        "count": {"type": "integer"},
                    },
                    "required": [kind.collection, "links"],
                }
            },
            query=recognised,
        ),
        summary=f"List {kind.collection}",
    )
    async def list_items(request: Request) -> Response:
        ctx = await admit(request)
        settings = ctx.settings
        marker = query(request, "marker")
        name = query(request, "name")
        supplied_limit = parse_int_param("limit", query(request, "limit"))
        page_size = validate_queue_list_limit(supplied_limit, settings)
        is_detailed = parse_bool_param("detailed", query(request, "detailed"))
        counted = (
            parse_bool_param("with_count", query(request, "with_count"))
            if kind.name == "queue"
            else None
        )
        filters: dict[str, JsonValue] = {}
        for key, value in request.query_params.items():
            if key not in recognised and value != "":
                filters[key] = _filter_value(value)
        reply = await ctx.storage.call(
            "queue.list",
            s.QueueListRequest(
                project=kind.storage_project(ctx.project),
                marker=marker or None,
                limit=page_size,
                detailed=bool(is_detailed),
                name=name or None,
                with_count=bool(counted),
                filters=filters,
            ),
            s.QueueListReply,
        )
        fill = defaults(settings)
        items: list[JsonValue] = []
        for queue in reply.queues:
            entry: dict[str, JsonValue] = {"name": queue.name, "href": f"{collection}/{queue.name}"}
            if is_detailed:
                entry["metadata"] = with_reserved_defaults(queue.metadata or {}, fill)
            items.append(entry)
        body: dict[str, JsonValue] = {kind.collection: items, "links": []}
        if items:
            body["links"] = next_link(  # type: ignore[assignment]
                collection,
                {
                    "marker": reply.queues[-1].name,
                    "limit": supplied_limit,
                    "detailed": is_detailed,
                    "name": name or None,
                    "with_count": counted,
                },
            )
        if counted and reply.count:
            body["count"] = reply.count
        return json_response(body)

    @router.put(
        item,
        **doc.operation({201: None, 204: None}, body=doc.METADATA_SCHEMA, path=item),
        summary=f"Create a {kind.name}",
    )
    async def create(request: Request) -> Response:
        target = await target_of(request, kind)
        settings = target.ctx.settings
        length = content_length(request)
        validate_queue_metadata_length(length, settings)
        metadata: dict[str, JsonValue] = {}
        if length:
            metadata = parse_json_object(await read_body(request, length) or b"")
            validate_queue_metadata(metadata, settings, InvalidRequest)
        reply = await target.ctx.storage.call(
            "queue.create",
            s.QueueCreateRequest.model_construct(
                project=target.storage_project, queue=target.name, metadata=metadata
            ),
            s.QueueCreateReply,
        )
        return empty(201 if reply.created else 204, {"Location": target.base_path})

    @router.get(
        item,
        **doc.operation({200: doc.METADATA_SCHEMA}, path=item),
        summary=f"Get {kind.name} metadata",
    )
    async def get_metadata(request: Request) -> Response:
        target = await target_of(request, kind)
        reply = await target.ctx.storage.call(
            "queue.get",
            s.QueueScoped(project=target.storage_project, queue=target.name),
            s.QueueGetReply,
        )
        return json_response(with_reserved_defaults(reply.metadata, defaults(target.ctx.settings)))

    @router.patch(
        item,
        **doc.operation(
            {200: doc.METADATA_SCHEMA},
            errors=(404, 409, 415),
            body=doc.PATCH_BODY,
            body_type=PATCH_CONTENT_TYPE,
            body_required=True,
            path=item,
        ),
        summary=f"Change {kind.name} metadata (JSON patch)",
    )
    async def patch(request: Request) -> Response:
        target = await target_of(request, kind)
        settings = target.ctx.settings
        length = content_length(request)
        if length:
            validate_queue_metadata_length(length, settings)
        # The exact media type, parameters included, as Zaqar compares it (spec 1.6).
        if request.headers.get("content-type") != PATCH_CONTENT_TYPE:
            raise HttpError(415, "415 Unsupported Media Type", UNSUPPORTED_PATCH)
        if not length:
            raise InvalidBody("PATCH body could not be empty for update.")
        document = parse_json(await read_body(request, length) or b"")
        if not isinstance(document, list):
            raise InvalidBody("Document type not supported.")
        operations = parse_queue_patch(document)
        reply = await target.ctx.storage.call(
            "queue.patch",
            s.QueuePatchRequest.model_construct(
                project=target.storage_project, queue=target.name, operations=operations
            ),
            s.QueueMetadataReply,
        )
        return json_response(with_reserved_defaults(reply.metadata, defaults(settings)))

    @router.delete(item, **doc.operation({204: None}, path=item), summary=f"Delete a {kind.name}")
    async def delete(request: Request) -> Response:
        target = await target_of(request, kind)
        await target.ctx.storage.call(
            "queue.delete",
            s.QueueScoped(project=target.storage_project, queue=target.name),
            s.Empty,
        )
        return empty()

    @router.get(
        f"{item}/stats",
        **doc.operation({200: doc.STATS_SCHEMA}, path=item),
        summary=f"{kind.name.capitalize()} statistics",
    )
    async def stats(request: Request) -> Response:
        target = await target_of(request, kind)
        reply = await target.ctx.storage.call(
            "queue.stats",
            s.QueueScoped(project=target.storage_project, queue=target.name),
            s.QueueStatsReply,
        )
        messages: dict[str, JsonValue] = {
            "claimed": reply.claimed,
            "free": reply.free,
            "total": reply.total,
        }
        if reply.total:
            for label, ref in (("oldest", reply.oldest), ("newest", reply.newest)):
                if ref is not None:
                    messages[label] = {
                        "href": f"{target.base_path}/messages/{ref.id}",
                        "age": ref.age,
                        "created": utc_timestamp(ref.created),
                    }
        return json_response({"messages": messages})

    @router.post(
        f"{item}/purge",
        **doc.operation({204: None}, body=doc.PURGE_BODY, path=item),
        summary=f"Purge a {kind.name}",
    )
    async def purge(request: Request) -> Response:
        target = await target_of(request, kind)
        data = await read_small_body(request, target.ctx.settings.max_queue_metadata)
        kinds = parse_purge(parse_json(data) if data is not None else None)
        await target.ctx.storage.call(
            "queue.purge",
            s.QueuePurgeRequest(
                project=target.storage_project, queue=target.name, resource_types=kinds
            ),
            s.Empty,
        )
        return empty()

    return router
