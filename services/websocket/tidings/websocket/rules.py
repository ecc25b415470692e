"""The authorization rule (spec 7.2 names, :mod:`tidings.common.policy`) of each action.

The same rules as the REST routes that do the same thing, so one policy file governs both
APIs. An action missing here is denied (the dispatcher asks for its rule before running it).
"""

from __future__ import annotations

ACTION_RULES: dict[str, str] = {
    "queue_list": "queues:get_all",
    "queue_create": "queues:create",
    "queue_get": "queues:get",
    "queue_delete": "queues:delete",
    "queue_get_stats": "queues:stats",
    "queue_purge": "queues:purge",
    "message_list": "messages:get_all",
    "message_post": "messages:create",
    "message_get": "messages:get",
    "message_get_many": "messages:get",
    "message_delete": "messages:delete",
    "message_delete_many": "messages:delete_all",
    "claim_create": "claims:create",
    "claim_get": "claims:get",
    "claim_update": "claims:update",
    "claim_delete": "claims:delete",
    "subscription_create": "subscription:create",
    "subscription_get": "subscription:get",
    "subscription_list": "subscription:get_all",
    "subscription_delete": "subscription:delete",
    "ping_node": "ping:get",
    "check_node_health": "health:get",
    "get_home_doc": "",  # the home document has no rule (as GET /v2/)
    "pool_list": "pools:get_all",
    "pool_get": "pools:get",
    "pool_create": "pools:create",
    "pool_update": "pools:update",
    "pool_delete": "pools:delete",
    "flavor_list": "flavors:get_all",
    "flavor_get": "flavors:get",
    "flavor_create": "flavors:create",
    "flavor_update": "flavors:update",
    "flavor_delete": "flavors:delete",
}
