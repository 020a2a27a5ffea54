"""Statements every S3 bucket of this project carries, written once."""

from __future__ import annotations

from typing import Any


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """Refuse plain-HTTP access to the bucket and its objects, whoever asks (AWS's S3 security
    best practice; encryption at rest means little if a reader can take the object in clear)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
