"""Operations: the `livecart-ops` CLI (streams, dead letters, traces, the separation audit)
and the Redis ACL that gives every service exactly the access its role needs."""
