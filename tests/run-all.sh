#!/bin/sh
# Runs every suite and prints one closing line "N passed, N failed".
#   unit:    each cmocka binary given as an argument (TAP output, counted)
#   lint:    tests/lint.sh (banned functions, generated docs up to date)
#   process: pytest over tests/process (counted from its junit report)
# Environment: QMIG, PYTHON, QEMU, BUILD (set by `make check`);
# QMIG_SANITIZER (address, thread or empty: set by check-asan/check-tsan)
# scales every process-test deadline (tests/process/harness/timing.py);
# PYTEST_ARGS adds pytest options (e.g. -k NAME).
# The counts are also written to $BUILD/test-results/counts.

set -u
passed=0
failed=0
out=${BUILD:-build}/test-results
mkdir -p "$out"
rm -f "$out/counts"

count_tap() {
	p=$(grep -c '^ok ' "$1")
	f=$(grep -c '^not ok ' "$1")
	passed=$((passed + p))
	failed=$((failed + f))
}

for bin in "$@"; do
	name=$(basename "$bin")
	echo "== unit: $name"
	CMOCKA_MESSAGE_OUTPUT=TAP "$bin" > "$out/$name.tap" 2>&1
	rc=$?
	cat "$out/$name.tap"
	count_tap "$out/$name.tap"
	# A crash or a non-TAP failure still has to count as a failure.
	if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$out/$name.tap"; then
		echo "not ok - $name exited with status $rc"
		failed=$((failed + 1))
	fi
done

# Each fuzz target's seed corpus, replayed without libFuzzer (a crash or a
# sanitizer report fails it).
for bin in ${REPLAY_BINS:-}; do
	name=${bin##*/replay_}
	echo "== fuzz corpus: $name"
	"$bin" "tests/fuzz/corpus/$name" > "$out/replay_$name.tap" 2>&1
	rc=$?
	cat "$out/replay_$name.tap"
	count_tap "$out/replay_$name.tap"
	if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$out/replay_$name.tap"; then
		echo "not ok - replay of $name exited with status $rc"
		failed=$((failed + 1))
	fi
done

echo "== lint"
sh tests/lint.sh > "$out/lint.tap" 2>&1
cat "$out/lint.tap"
count_tap "$out/lint.tap"

echo "== process tests (pytest)"
rm -f "$out/pytest.xml"
QMIG=$(realpath "${QMIG:-build/qmig}") QEMU=${QEMU:-} \
	QMIG_SANITIZER=${QMIG_SANITIZER:-} \
	"${PYTHON:-python3}" -m pytest -rfE -p no:cacheprovider \
	--junitxml="$out/pytest.xml" ${PYTEST_ARGS:-} tests/process
rc=$?
if [ -f "$out/pytest.xml" ]; then
	set -- $("${PYTHON:-python3}" - "$out/pytest.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - bad - skipped, bad, skipped)
PY
)
	passed=$((passed + $1))
	failed=$((failed + $2))
	skipped=$3
else
	skipped=0
fi
# pytest exit 5 means "no tests collected"; anything else non-zero without a
# counted failure is a broken run.
if [ $rc -ne 0 ] && [ $rc -ne 5 ] && [ "${2:-0}" = 0 ]; then
	failed=$((failed + 1))
fi

# The counts also go to a file, so a caller running several builds' suites
# (.ci/run: plain, ASan/UBSan, TSan) can print one closing line for all.
echo "$passed $failed $skipped" > "$out/counts"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
