"""pytest hooks for the notebooks (`make test` runs nbval on notebooks/).

Notebook 03's optional section runs the page's own Node.js function: its code cells carry the
tag ``requires-node``. Where Node.js 18 or newer and npm are not installed they print one line
and do nothing, so their committed outputs can't match: nbval skips them, saying why.
"""

from __future__ import annotations

import pytest

NODE_TAG = "requires-node"


def pytest_collection_modifyitems(config, items):
    tagged = [
        item
        for item in items
        if NODE_TAG in (getattr(item, "cell", None) or {}).get("metadata", {}).get("tags", [])
    ]
    if not tagged:
        return
    from helpers import packaging

    missing = packaging.node_tools_missing()
    if missing:
        skip = pytest.mark.skip(reason=f"optional Node.js section of notebook 03: {missing}")
        for item in tagged:
            item.add_marker(skip)
