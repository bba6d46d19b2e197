#!/usr/bin/env bash
# Verify that an image digest carries the keyless cosign signature made by
# this project's pipeline (sign:images) on the same ref: a deploy refuses
# anything built elsewhere, or not scanned.
#
#   scripts/verify-image.sh <image>@sha256:<digest>
#
# Uses the GitLab CI variables CI_PROJECT_URL, CI_SERVER_URL and the ref
# variables; the certificate identity GitLab's OIDC token gives Fulcio is
# "<project url>//.gitlab-ci.yml@<ref>".
set -euo pipefail

image="${1:?usage: verify-image.sh <image>@sha256:<digest>}"
[[ "$image" == *@sha256:* ]] || { echo "verify-image: $image is not pinned by digest" >&2; exit 2; }

if [ "${CI_PIPELINE_SOURCE:-}" = merge_request_event ]; then
  ref="refs/merge-requests/${CI_MERGE_REQUEST_IID}/head"
elif [ -n "${CI_COMMIT_TAG:-}" ]; then
  ref="refs/tags/${CI_COMMIT_TAG}"
else
  ref="refs/heads/${CI_COMMIT_BRANCH:?no branch, tag or merge request}"
fi

cosign verify \
  --certificate-identity "${CI_PROJECT_URL}//.gitlab-ci.yml@${ref}" \
  --certificate-oidc-issuer "${CI_SERVER_URL}" \
  "$image" >/dev/null
echo "verify-image: $image signed by ${CI_PROJECT_URL} on ${ref}"
