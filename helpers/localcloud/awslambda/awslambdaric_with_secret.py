"""awslambdaric, AWS's runtime interface client, on a Runtime API locked with a secret.

Where the local cloud locks each Runtime API with a secret rather than by the peer process
(``LOCALCLOUD_RUNTIME_API_CHECK=token``, see ``runtime_api.py``), every request must carry it.
awslambdaric can't be told to add a header, but its two halves can be given an address that
carries it:

- its native client (curl) builds its URLs as ``http://`` + ``AWS_LAMBDA_RUNTIME_API``, once,
  when ``awslambdaric.lambda_runtime_client`` is imported; for the address
  ``lambda:SECRET@127.0.0.1:PORT`` curl sends ``Authorization: Basic`` of ``lambda:SECRET``;
- its Python half posts init errors with ``http.client``, which needs a plain host:port: it
  gets one, and the header.

The secret comes on stdin (a pipe the worker wrote it to and closed): never in the process's
environment, which ``/proc/PID/environ`` shows. Once the native client has its URLs,
``AWS_LAMBDA_RUNTIME_API`` is the plain address again, as the function expects it. Then this is
``python -m awslambdaric HANDLER``. Like ``python_client.py`` it runs as a script (``python -P``),
so nothing of the repository is importable by the function::

    python -P awslambdaric_with_secret.py module.handler
"""

from __future__ import annotations

import base64
import os
import sys


def read_secret() -> str:
    """Everything on stdin, to its end (the worker closes the pipe after the secret)."""
    chunks = []
    while True:
        chunk = os.read(0, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode().strip()


def main(argv: list[str]) -> None:
    secret = read_secret()
    address = os.environ["AWS_LAMBDA_RUNTIME_API"]
    # -m awslambdaric would put the working directory (the task root) first on sys.path
    sys.path.insert(0, os.getcwd())
    os.environ["AWS_LAMBDA_RUNTIME_API"] = f"lambda:{secret}@{address}"
    try:
        from awslambdaric import bootstrap
        from awslambdaric.lambda_config import LambdaConfigProvider
        from awslambdaric.lambda_runtime_client import LambdaRuntimeClient
    finally:
        os.environ["AWS_LAMBDA_RUNTIME_API"] = address
    header = "Basic " + base64.b64encode(f"lambda:{secret}".encode()).decode()

    class Client(LambdaRuntimeClient):
        """awslambdaric's client; its Python half's POSTs (init errors) carry the secret."""

        def call_rapid(self, http_method, endpoint, expected_http_code, payload=None, headers=None):
            headers = {**(headers or {}), "Authorization": header}
            return super().call_rapid(http_method, endpoint, expected_http_code, payload, headers)

    config = LambdaConfigProvider(argv)
    bootstrap.run(config.handler, Client(config.api_address, config.use_thread_polling))


if __name__ == "__main__":
    main(sys.argv)
