import json
from pathlib import Path

import pytest

from shop.catalog import Catalog

PRODUCTS = [
    {"sku": "BOLT-M6", "name": "M6 bolt", "price": "0.35", "category": "hardware"},
    {"sku": "GLUE-50", "name": "Wood glue 50 ml", "price": "4.99", "category": "adhesives"},
    {"sku": "SAW-PRO", "name": "Pull saw", "price": "39.00", "category": "tools"},
]


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.from_json(json.dumps(PRODUCTS))


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    path = tmp_path / "products.json"
    path.write_text(json.dumps(PRODUCTS), encoding="utf-8")
    return path
