"""The owner's credentials: an IAM user with full access, created once per state directory.

The access key is written to ``$LOCALCLOUD_STATE_DIR/credentials`` in the AWS shared-credentials
format (profile ``[localcloud]``, mode 0600), and reused by every later start with that state
directory, so the AWS CLI, any SDK and the notebooks can use it.
"""

from __future__ import annotations

import configparser
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

PROFILE = "localcloud"
OWNER_USER = "localcloud-owner"
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class OwnerCredentials:
    access_key_id: str
    secret_access_key: str
    region: str = DEFAULT_REGION

    def env(self, endpoint: str) -> dict[str, str]:
        """What a shell (or an SDK) needs to reach the local cloud as its owner. boto3 and the
        AWS CLI read the region from AWS_DEFAULT_REGION, most other SDKs from AWS_REGION."""
        return {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }


def credentials_path(state_dir: str | os.PathLike) -> Path:
    return Path(state_dir) / "credentials"


def _new_key() -> OwnerCredentials:
    alphabet = string.ascii_uppercase + string.digits
    key_id = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
    return OwnerCredentials(key_id, secret)


def load(state_dir: str | os.PathLike) -> OwnerCredentials | None:
    """The owner's key from the credentials file, or None if there is none yet."""
    path = credentials_path(state_dir)
    if not path.exists():
        return None
    parser = configparser.ConfigParser()
    parser.read(path)
    if PROFILE not in parser:
        return None
    section = parser[PROFILE]
    return OwnerCredentials(
        section["aws_access_key_id"],
        section["aws_secret_access_key"],
        section.get("region", DEFAULT_REGION),
    )


def load_or_create(state_dir: str | os.PathLike) -> OwnerCredentials:
    """The key of this state directory, written (0600) on first use."""
    existing = load(state_dir)
    if existing is not None:
        os.chmod(credentials_path(state_dir), 0o600)
        return existing
    owner = _new_key()
    path = credentials_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        f"# The local cloud's owner key (full access). Keep it to yourself: whoever holds it\n"
        f"# can use this local cloud. Use it with: aws --profile {PROFILE} ... or\n"
        f'# eval "$(python -m helpers.localcloud --env)"\n'
        f"[{PROFILE}]\n"
        f"aws_access_key_id = {owner.access_key_id}\n"
        f"aws_secret_access_key = {owner.secret_access_key}\n"
        f"region = {owner.region}\n"
    )
    partial = path.with_suffix(".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.replace(partial, path)
    return owner


def install_owner(owner: OwnerCredentials, account_id: str) -> None:
    """Make the owner an IAM user of moto's IAM with AdministratorAccess and this exact key."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id]["aws"]
    if OWNER_USER not in backend.users:
        backend.create_user(region_name=owner.region, user_name=OWNER_USER, path="/", tags=[])
    user = backend.get_user(OWNER_USER)
    if not any(k.access_key_id == owner.access_key_id for k in user.access_keys):
        key = backend.create_access_key(OWNER_USER)
        backend.access_keys.pop(key.access_key_id, None)
        key.access_key_id = owner.access_key_id
        key.secret_access_key = owner.secret_access_key
        backend.access_keys[key.access_key_id] = key
    if ADMINISTRATOR_ACCESS not in user.managed_policies:
        backend.attach_user_policy(ADMINISTRATOR_ACCESS, OWNER_USER)
