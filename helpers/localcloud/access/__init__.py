"""Who may use the local cloud, and what each caller may do.

The local cloud serves whoever holds its credentials — the owner's access key in
``$LOCALCLOUD_STATE_DIR/credentials`` (mode 0600) and the temporary role credentials it issues
itself — and, as on AWS, IAM policies decide what each caller may do. A request is not trusted
because it reached 127.0.0.1: web pages in the learner's browser and other users of a shared
machine get there too.

- ``credentials``: the owner's access key, created once per state directory.
- ``operations``: which AWS operation a request is, its IAM action and resource.
- ``sigv4``: Signature Version 4 checks (header and presigned-URL forms), with botocore.
- ``policies``: identity and trust policy evaluation (moto's, with its matching fixed).
- ``gate``: the checks every request passes before anything else happens.
"""
