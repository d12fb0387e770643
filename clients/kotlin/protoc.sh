#!/bin/sh
# Generates the Kotlin client's sources from Orbit's public API with protoc:
#   Java lite messages      (protoc's built-in generator, --java_out=lite:)
#   Kotlin Connect clients  (protoc-gen-connect-kotlin, a runnable jar run by `java -jar`)
# Usage: protoc.sh <tools dir: protoc.exe, protoc-gen-connect-kotlin.jar, include/> <proto/api> <out dir>
# Run by Maven (pom.xml, generate-sources); protoc 3.15 or newer is needed for proto3 `optional`.
set -eu
tools=$1 api=$2 out=$3
chmod +x "$tools/protoc.exe"
plugin="$tools/protoc-gen-connect-kotlin"
printf '#!/bin/sh\nexec java -jar "%s" "$@"\n' "$tools/protoc-gen-connect-kotlin.jar" > "$plugin"
chmod +x "$plugin"
rm -rf "$out" && mkdir -p "$out/java" "$out/kotlin"
# Every public file; google/protobuf/descriptor.proto (imported by the options) is in $tools/include.
files=$(cd "$api" && find . -name '*.proto' | sed 's|^\./||' | sort)
cd "$api"
# shellcheck disable=SC2086
"$tools/protoc.exe" --proto_path=. --proto_path="$tools/include" \
  --java_out=lite:"$out/java" \
  --plugin=protoc-gen-connect-kotlin="$plugin" --connect-kotlin_out="$out/kotlin" \
  $files
echo "protoc.sh: generated $(find "$out" -type f | wc -l) files from $(echo $files | wc -w) protos into $out"
