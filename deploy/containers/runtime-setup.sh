#!/bin/sh
# Run once in each image's runtime stage, as root: installs the runtime libraries given as
# arguments (and nothing else: no recommends, no compiler), creates the non-root user that runs
# the service (uid/gid 10001) and its state directory, and writes the image's SBOM — every
# Debian package inside with its version, as SPDX 2.3 JSON — to /usr/share/guarded-venue/sbom/.
# Scanners (Trivy, Grype, Syft) also read /var/lib/dpkg/status, which stays in the image.
set -eu
export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$@" >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
groupadd --gid 10001 service
useradd --uid 10001 --gid 10001 --home-dir /var/lib/guarded-venue --no-create-home \
  --shell /usr/sbin/nologin service
mkdir -p /var/lib/guarded-venue /usr/share/guarded-venue/sbom
chown 10001:10001 /var/lib/guarded-venue
chmod 0750 /var/lib/guarded-venue

sbom=/usr/share/guarded-venue/sbom/debian-packages.spdx.json
name=${IMAGE_NAME:-guarded-venue}
{
  printf '{\n  "spdxVersion": "SPDX-2.3",\n  "dataLicense": "CC0-1.0",\n'
  printf '  "SPDXID": "SPDXRef-DOCUMENT",\n  "name": "%s Debian packages",\n' "$name"
  printf '  "documentNamespace": "https://example.invalid/spdx/%s-%s",\n' "$name" "${IMAGE_REVISION:-unknown}"
  printf '  "creationInfo": {"created": "%s", "creators": ["Tool: deploy/containers/runtime-setup.sh"]},\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf '  "packages": [\n'
  dpkg-query -W -f '${Package}\t${Version}\t${Architecture}\n' | sort | awk -F '\t' '
    NR > 1 { printf ",\n" }
    {
      id = $1; gsub(/[^A-Za-z0-9.-]/, "-", id)
      printf "    {\"SPDXID\": \"SPDXRef-deb-%s\", \"name\": \"%s\", \"versionInfo\": \"%s\", ", id, $1, $2
      printf "\"supplier\": \"Organization: Debian\", \"downloadLocation\": \"NOASSERTION\", "
      printf "\"filesAnalyzed\": false, \"externalRefs\": [{\"referenceCategory\": \"PACKAGE-MANAGER\", "
      printf "\"referenceType\": \"purl\", \"referenceLocator\": \"pkg:deb/debian/%s@%s?arch=%s&distro=debian-12\"}]}", $1, $2, $3
    }'
  printf '\n  ]\n}\n'
} >"$sbom"
dpkg-query -W -f '${Package}\t${Version}\t${Architecture}\n' | sort \
  >/usr/share/guarded-venue/sbom/debian-packages.tsv
