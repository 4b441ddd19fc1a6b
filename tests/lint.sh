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
