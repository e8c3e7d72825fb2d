"""The web app's routes, one `APIRouter` per area; `webapp.app.create_app` assembles them."""
