"""Helpers of `infra/compose.yaml`: the Redis ACL renderer and the compose env generator."""
