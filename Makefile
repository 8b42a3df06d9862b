# The two commands of the README. Both install what they need first.
.PHONY: run test

run:
	@scripts/setup.sh run
	@.venv/bin/returnfeed-cloud $(ARGS)

test:
	@scripts/setup.sh test
	@scripts/check.sh
