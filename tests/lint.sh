#!/bin/sh
# Source checks that run in `make check`, printed as TAP.
# 1. Functions banned from qmig's sources (after git's banned.h): each has a
#    bounded or thread-safe replacement (snprintf, strbuf, strtok_r...).
n=0
check() {
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		printf '%s\n' "$2" | sed 's/^/#   /'
	fi
}
srcs=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]')
hits=$(grep -nE '(^|[^_a-z])(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi)\(' $srcs 2>/dev/null |
	grep -vE 'snprintf|vsnprintf|asprintf' || true)
check "no banned libc functions" "$hits"

# 2. Library code does not read the environment: what changes a migration
#    is a migration parameter, test-only settings come from qmig.c's main().
#    The one exception: readline's history file under $HOME.
lib=$(printf '%s\n' $srcs | grep -E '^(util|codec|ram|machine|migration|monitor)/' || true)
hits=$(grep -n 'getenv(' $lib 2>/dev/null |
	grep -v '^monitor/monitor_stdio\.c:.*getenv("HOME")' || true)
check "no getenv() in library code" "$hits"

# 3. docs/monitor.md is generated from the HMP command table: regenerate it
#    with the built qmig and diff (a drift test, as Redis regenerates
#    commands.def in CI).
qmig=${QMIG:-build/qmig}
if [ -x "$qmig" ]; then
	gen=$(mktemp)
	if "$qmig" --dump-hmp-docs > "$gen"; then
		drift=$(diff -u docs/monitor.md "$gen" 2>&1 | head -n 40)
		[ -z "$drift" ] ||
			drift="docs/monitor.md is stale; run: $qmig --dump-hmp-docs > docs/monitor.md
$drift"
	else
		drift="$qmig --dump-hmp-docs failed"
	fi
	rm -f "$gen"
	check "docs/monitor.md matches the HMP table" "$drift"
else
	n=$((n + 1))
	echo "ok $n - # SKIP docs/monitor.md drift: $qmig not built"
fi

# 4. The layers of docs/architecture.md: no include from a folder to one
#    above it, no two modules including each other.
if command -v python3 > /dev/null; then
	check "includes follow the layers, no cycles" "$(python3 tests/include_layers.py 2>&1)"
else
	n=$((n + 1))
	echo "ok $n - # SKIP include layers: no python3"
fi

# 5. No function over 80 lines (tests/function_length.py says why).
if command -v python3 > /dev/null; then
	check "no function over 80 lines" "$(python3 tests/function_length.py 2>&1)"
else
	n=$((n + 1))
	echo "ok $n - # SKIP function length: no python3"
fi
