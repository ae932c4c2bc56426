# mlctl — the two commands a newcomer needs:
#   make demo   the whole pipeline on the shipped sample data, in a throwaway project (target/demo)
#   make test   formatting, lints and every test (what CI runs)

CARGO ?= cargo
DEMO  ?= target/demo
MLCTL  = $(CARGO_TARGET_DIR_OR_DEFAULT)/debug/mlctl
CARGO_TARGET_DIR_OR_DEFAULT = $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),target)

.PHONY: demo serve bench-serve test-tools test build fmt lint unit reference-model retrain toolchain clean man fuzz bench

toolchain:
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs"; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

build: toolchain
	$(CARGO) build --locked

demo: build
	rm -rf $(DEMO) && mkdir -p $(DEMO)/data
	cp mlctl.toml $(DEMO)/
	@echo "== export: generate the sample dataset (deterministic: same bytes as data/skill_assignment.csv)"
	$(MLCTL) --project $(DEMO) export --sample skill-assignment --rows 10000 --seed 42 -o $(DEMO)/data/skill_assignment.csv
	cmp $(DEMO)/data/skill_assignment.csv data/skill_assignment.csv
	@echo "== split: hold out 20% (seeded, stratified by the target); the holdout shares no rows with data/train.csv"
	$(MLCTL) --project $(DEMO) split $(DEMO)/data/skill_assignment.csv --test-size 0.2 --stratify success -o $(DEMO)/data/train.csv --holdout $(DEMO)/data/holdout.csv
	@echo "== train: the spec in mlctl.toml on the training part, with 5-fold cross-validation"
	$(MLCTL) --project $(DEMO) train $(DEMO)/data/train.csv --model skill_assignment --cv 5
	@echo "== retrain the same spec: a patch version, byte-identical model"
	$(MLCTL) --project $(DEMO) train $(DEMO)/data/train.csv --model skill_assignment
	cmp $(DEMO)/ml_models/skill_assignment/1.0.0/model.bin $(DEMO)/ml_models/skill_assignment/1.0.1/model.bin
	@echo "== change a hyperparameter: a minor version"
	$(MLCTL) --project $(DEMO) train $(DEMO)/data/train.csv --model skill_assignment --set max_depth=12
	@echo "== evaluate on the holdout with CI gates"
	$(MLCTL) --project $(DEMO) evaluate skill_assignment@1.0.0 --data $(DEMO)/data/holdout.csv --min f1=0.75 --min roc_auc=0.75
	@echo "== batch predictions (ids and other non-feature columns pass through), logged for monitoring"
	$(MLCTL) --project $(DEMO) predict skill_assignment@1.0.0 --input $(DEMO)/data/holdout.csv -o $(DEMO)/predictions.csv
	head -3 $(DEMO)/predictions.csv
	@echo "== one record as JSON on stdin, one JSON answer"
	echo '{"employee":"e-42","emp_experience_years":6,"emp_workload_ratio":0.55,"emp_performance_rating":4.1,"emp_active_tasks":4,"emp_availability":"available","task_priority":"high","task_complexity_score":3,"task_estimated_hours":10,"task_urgency_score":0.7,"skill_match_score":0.82,"workload_compatibility":0.6}' \
	  | $(MLCTL) --project $(DEMO) predict skill_assignment --input -
	@echo "== drift: the holdout (drawn from the same data) against 1.0.0's training data: no drift, exit 0"
	$(MLCTL) --project $(DEMO) drift skill_assignment@1.0.0 --data $(DEMO)/data/holdout.csv --report $(DEMO)/drift/drift.md
	ls $(DEMO)/drift
	@echo "== drift from the prediction logs of the last 7 days (the batch above was logged)"
	$(MLCTL) --project $(DEMO) drift skill_assignment@1.0.0 --logs --since 7d --fail-on share=0.5
	@echo "== promote: 1.0.0 to production (nothing to beat yet), then 1.1.0 through staging, gated on the holdout"
	$(MLCTL) --project $(DEMO) promote skill_assignment@1.0.0 --to production
	$(MLCTL) --project $(DEMO) promote skill_assignment@1.1.0 --to staging
	$(MLCTL) --project $(DEMO) promote skill_assignment@staging --to production --data $(DEMO)/data/holdout.csv; \
	  rc=$$?; if [ $$rc = 3 ]; then echo "(exit 3: the gate refused; production is unchanged)"; elif [ $$rc != 0 ]; then exit $$rc; fi
	$(MLCTL) --project $(DEMO) diff skill_assignment@1.0.0 skill_assignment@1.1.0
	$(MLCTL) --project $(DEMO) list
	@echo "== outcomes: predictions logged with their task ids; the real outcomes arrive later and are recorded by id"
	awk -F, 'NR==1{print "task_id,"$$0; next} {print "t" NR-1 "," $$0}' $(DEMO)/data/holdout.csv > $(DEMO)/data/tasks.csv
	$(MLCTL) --project $(DEMO) predict skill_assignment --input $(DEMO)/data/tasks.csv --id-column task_id -o $(DEMO)/task_predictions.csv
	awk -F, '{print $$1 "," $$NF}' $(DEMO)/data/tasks.csv > $(DEMO)/data/outcomes.csv
	$(MLCTL) --project $(DEMO) outcomes skill_assignment --data $(DEMO)/data/outcomes.csv --id-column task_id
	@echo "== monitor: realised and estimated (CBPE) performance per window against the test score, and age: OK or RETRAIN DUE (exit 3)"
	$(MLCTL) --project $(DEMO) monitor skill_assignment --since 7d --window 7d --max-age 30d --report $(DEMO)/monitor/monitor.md; \
	  rc=$$?; if [ $$rc = 3 ]; then echo "(exit 3: RETRAIN DUE, the reasons are listed above)"; elif [ $$rc != 0 ]; then exit $$rc; fi
	@echo "== experiments: three algorithms cross-validated on the same folds; the best is registered"
	$(MLCTL) --project $(DEMO) train $(DEMO)/data/train.csv --model skill_assignment --compare random-forest,gradient-boosting,logistic-regression --cv 3
	cat $(DEMO)/MODEL_COMPARISON.md
	@echo "== the registry"
	cat $(DEMO)/MODEL_REGISTRY.md
	@echo "== serve: the production model over HTTP (port chosen by the OS), one prediction, then SIGTERM"
	DEMO=$(DEMO) MLCTL=$(MLCTL) bash examples/serve/demo.sh

# Serves the demo project's production models on http://127.0.0.1:8080 until Ctrl-C (run `make demo` first).
serve: build
	$(MLCTL) --project $(DEMO) serve --port 8080

fmt:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --locked --all-targets -- -D warnings

unit:
	$(CARGO) test --locked

# The servers and tools the tests use, installed from Debian's packages when missing (PostgreSQL for the export
# tests, promtool for the /metrics check of the serve tests); each test starts and stops its own server.
test-tools:
	bash scripts/install_postgres.sh
	bash scripts/install_promtool.sh
	bash scripts/install_moto.sh

test: toolchain test-tools fmt lint unit

# Regenerates the shipped sample data and the reference model registered at the top of this repository.
reference-model: build
	$(MLCTL) export --sample skill-assignment --rows 10000 --seed 42 -o data/skill_assignment.csv
	rm -rf ml_models MODEL_REGISTRY.md
	$(MLCTL) train --model skill_assignment --cv 5 --version 1.0.0

# mlctl against scikit-learn, side by side (bench/README.md); not part of `make test`. Writes bench/RESULTS.md,
# and bench/DRIFT_RESULTS.md: false alarms and missed shifts of `mlctl drift` against Evidently's defaults.
bench: toolchain
	bench/run.sh
	bench/serve.sh
	bench/monitor.sh
	bench/drift_alarms.sh
	BIG=1000000 bench/s3.sh

# Only the serving benchmark: mlctl serve against Flask + gunicorn and FastAPI + uvicorn (bench/README.md).
bench-serve: toolchain
	bench/serve.sh

# The man page, rendered from the same clap definition as --help.
man: build
	mkdir -p target/man && $(MLCTL) manpage > target/man/mlctl.1
	@echo "man target/man/mlctl.1"
# Retrain a model of a project from its mlctl.toml spec: what a drift alarm triggers
# (examples/cron/weekly_drift_check.sh). The new version starts in development; promote it after evaluating.
MODEL   ?= skill_assignment
PROJECT ?= .
retrain: build
	$(MLCTL) --project $(PROJECT) train --model $(MODEL)

# Coverage-guided fuzzing of the artifact decoder and CSV ingestion (libFuzzer via cargo-fuzz). cargo-fuzz wants
# nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them. New corpus entries land in
# fuzz/corpus/<target>/ (commit the useful ones); a crash lands in fuzz/artifacts/<target>/: move it to
# fuzz/regressions/<target>/ with the fix, and `cargo test` replays it from then on.
FUZZ_SECONDS ?= 120
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	for t in artifact_decode csv_ingest csv_stream; do \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --sanitizer none $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=65536 || exit 1; \
	done

clean:
	$(CARGO) clean
	rm -rf $(DEMO)
