#!/bin/sh
# fetch.sh DIR — download the ip-location-db ASN and country range tables
# (CC BY 4.0) with `npm pack` and extract the CSVs ipintel reads into DIR:
#
#   DIR/asn-ipv4.csv DIR/asn-ipv6.csv                    (start,end,asn,org)
#   DIR/dbip-country-ipv4.csv DIR/dbip-country-ipv6.csv  (start,end,country)
#   DIR/LICENSES/…                                       (attribution texts)
#
# Versions are pinned for reproducible demos; override with
# IPINTEL_ASN_PKG / IPINTEL_COUNTRY_PKG. Existing files are kept unless
# FORCE=1. Needs npm and tar; nothing is installed, only packed.
set -eu

dir=${1:?usage: fetch.sh TARGET_DIR}
asn_pkg=${IPINTEL_ASN_PKG:-@ip-location-db/asn@2.3.2026061719}
country_pkg=${IPINTEL_COUNTRY_PKG:-@ip-location-db/dbip-country@2.3.2026060120}

if [ "${FORCE:-0}" != 1 ] && [ -s "$dir/asn-ipv4.csv" ] && [ -s "$dir/asn-ipv6.csv" ] &&
	[ -s "$dir/dbip-country-ipv4.csv" ] && [ -s "$dir/dbip-country-ipv6.csv" ]; then
	echo "fetch.sh: $dir already has the tables (FORCE=1 to fetch again)"
	exit 0
fi
command -v npm >/dev/null || { echo "fetch.sh: npm not found" >&2; exit 1; }

mkdir -p "$dir/LICENSES"
dir=$(cd "$dir" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# unpack PKG NAME FILE...: pack PKG, extract it, copy FILEs and licences.
unpack() {
	pkg=$1 name=$2
	shift 2
	(cd "$tmp" && npm pack --silent "$pkg" >"$name.tgz.name")
	mkdir -p "$tmp/$name"
	tar -xzf "$tmp/$(cat "$tmp/$name.tgz.name")" -C "$tmp/$name"
	for f in "$@"; do
		[ -s "$tmp/$name/package/$f" ] || { echo "fetch.sh: $pkg has no $f" >&2; exit 1; }
		cp "$tmp/$name/package/$f" "$dir/$f.tmp" && mv "$dir/$f.tmp" "$dir/$f"
	done
	for lic in "$tmp/$name/package/"*LICENSE* "$tmp/$name/package/MODIFICATIONS"; do
		[ -f "$lic" ] && cp "$lic" "$dir/LICENSES/$name-$(basename "$lic")"
	done
	echo "fetch.sh: $pkg → $*"
}

unpack "$asn_pkg" asn asn-ipv4.csv asn-ipv6.csv
unpack "$country_pkg" dbip-country dbip-country-ipv4.csv dbip-country-ipv6.csv
