"""One module per REST resource; each exposes an APIRouter (or a factory building one)."""
