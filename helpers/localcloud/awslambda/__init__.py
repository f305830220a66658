"""The Lambda runtime of the local cloud: deployment packages run by AWS's own runtime client."""
