#!/bin/sh
# The tests in two phases. First everything that runs in virtual time or checks logic, two files at a time.
# Then the live tests (*.live.test.ts: real processes and sockets, the shared test bed, the Linux kernel as a
# peer; their outcomes depend on wall-clock timing), one file at a time, so that no other test competes with
# them for the machine's cores. Both phases always run; the exit status is non-zero if either failed.
status=0
node --import tsx --test --test-concurrency=2 $(find test -name '*.test.ts' ! -name '*.live.test.ts' | sort) || status=1
node --import tsx --test --test-concurrency=1 $(find test -name '*.live.test.ts' | sort) || status=1
exit $status
