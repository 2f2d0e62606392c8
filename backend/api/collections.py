"""Collections (API.md, "Collections"): the expert's CRUD and the widget's collection page."""
from __future__ import annotations

from backend.api.auth import current_expert, login_required
from backend.api.blueprint import Blueprint
from backend.api.client_auth import signed_in_client
from backend.api.owned import Owned
from backend.api.public import public_service_view
from backend.extensions import db
from backend.schemas.clients import CollectionEnvelope, CollectionIn, CollectionsEnvelope
from backend.schemas.common import patch_schema
from backend.schemas.public import PublicCollectionEnvelope
from backend.services import client_auth, collections, experts, package_plans

blp = Blueprint("collections", __name__, url_prefix="/api/v1",
                description="Collections: services and package plans under one link")

COLLECTIONS = Owned("collection", collections.get_collection, lambda _, found: collections.collection_view(found))


@blp.route("/admin/collections")
@login_required
@blp.response(200, CollectionsEnvelope)
def list_collections():
    return {"collections": COLLECTIONS.dump_all(collections.list_collections(db.session(), current_expert()))}


@blp.route("/admin/collections", methods=["POST"])
@login_required
@blp.arguments(CollectionIn)
@blp.response(201, CollectionEnvelope)
def create_collection(data: dict):
    """A collection of services and plans; ``clients_only`` shows it to signed-in clients only."""
    found = collections.create_collection(db.session(), current_expert(), data)
    db.session.commit()
    return COLLECTIONS.dump(found)


@blp.route("/admin/collections/<collection>")
@login_required
@blp.response(200, CollectionEnvelope)
def get_collection(collection: str):
    return COLLECTIONS.dump(COLLECTIONS.get(collection))


@blp.route("/admin/collections/<collection>", methods=["PATCH"])
@login_required
@blp.arguments(patch_schema(CollectionIn))
@blp.response(200, CollectionEnvelope)
def patch_collection(data: dict, collection: str):
    found = collections.update_collection(db.session(), current_expert(), COLLECTIONS.get(collection), data)
    db.session.commit()
    return COLLECTIONS.dump(found)


@blp.route("/admin/collections/<collection>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_collection(collection: str):
    collections.delete_collection(db.session(), COLLECTIONS.get(collection))
    db.session.commit()


@blp.route("/experts/<expert>/collections/<collection>")
@blp.response(200, PublicCollectionEnvelope)
@blp.alt_response(401, description="sign_in_required: a clients-only collection without a client token")
def public_collection(expert: str, collection: str):
    """A collection's services and plans; a clients-only one says nothing of itself until a client signs in."""
    found_expert = experts.get_expert(db.session(), expert)
    found = collections.get_collection(db.session(), found_expert, collection)
    is_client = client_auth.is_client(db.session(), found_expert, signed_in_client(found_expert))
    if found.clients_only and not is_client:
        client_auth.require_client(db.session(), found_expert, None)
    services, plans = collections.contents(db.session(), found_expert, found, is_client=is_client)
    return {"collection": {"slug": found.slug, "name": found.name, "description": found.description,
                           "services": [public_service_view(s) for s in services],
                           "packages": [package_plans.plan_view(db.session(), p) for p in plans]}}
