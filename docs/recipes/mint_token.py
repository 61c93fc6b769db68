#!/usr/bin/env python3
"""Make an amsync pre-shared-key SSO token, as an association's login page does.

Format: v1.<kid>.<base64url-no-padding(nonce12 || AES-256-GCM ciphertext || tag)>,
with the ASCII prefix "v1.<kid>" as the AES-GCM additional data. The plaintext is
JSON {"key", "iat", "exp", "jti", "aud"}.

Usage:
    AMSYNC_SSO_PSK=<32 bytes in standard base64> \
    python3 mint_token.py --kid k1 --member M000123 --audience https://community.example.org

Requires the `cryptography` package (pinned in requirements.txt).
"""
import argparse
import base64
import json
import os
import secrets
import sys
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def mint(kid: str, key: bytes, member: str, audience: str, ttl: int = 120) -> str:
    if len(key) != 32:
        raise ValueError("the key must be 32 bytes")
    now = int(time.time())
    claims = {
        "key": member,
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(24),
        "aud": audience,
    }
    prefix = f"v1.{kid}"
    nonce = secrets.token_bytes(12)
    # AESGCM.encrypt returns ciphertext || tag.
    sealed = AESGCM(key).encrypt(nonce, json.dumps(claims).encode(), prefix.encode("ascii"))
    body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
    return f"{prefix}.{body}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kid", required=True)
    p.add_argument("--member", required=True)
    p.add_argument("--audience", required=True, help="amsync's web.public_url")
    p.add_argument("--ttl", type=int, default=120, help="seconds; at most sso.resolve.max_age")
    p.add_argument("--key-env", default="AMSYNC_SSO_PSK", help="variable holding the key (standard base64)")
    a = p.parse_args()
    key = base64.b64decode(os.environ[a.key_env].strip())
    print(mint(a.kid, key, a.member, a.audience, a.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
