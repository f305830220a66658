"""Run every test below once per Python runtime interface client (AWS's awslambdaric and the
workbook's own), each on a local cloud of its own."""

from __future__ import annotations

import pytest


@pytest.fixture
def cloud(each_python_client):
    return each_python_client


@pytest.fixture
def aws(cloud):
    return cloud.client


@pytest.fixture
def roles(cloud):
    return cloud.roles


@pytest.fixture
def cloud_endpoint(cloud):
    return cloud.endpoint
