#!/usr/bin/env bash
# `make bench` (also on its own): how often `mlctl drift` cries wolf and how often it misses a real shift, with
# its defaults and with Evidently's defaults reproduced by mlctl's own tests (Evidently itself is not installed).
# A model is trained on the shipped sample (10,000 rows, seed 42); then SAMPLES current samples of ROWS rows each
# are drawn from the same generator with fresh seeds — unshifted, and moved by `export --shift` — and every
# setting below judges every sample. Writes bench/DRIFT_RESULTS.md.
#   bench/drift_alarms.sh                    # 100 samples of 200 rows (about a minute with a release build)
#   SAMPLES=20 MLCTL=target/debug/mlctl bench/drift_alarms.sh   # a quick look with an existing binary
set -euo pipefail
cd "$(dirname "$0")/.."

samples="${SAMPLES:-100}"
rows="${ROWS:-200}"
large_rows="${LARGE_ROWS:-5000}"
large_samples="${LARGE_SAMPLES:-20}"
mlctl="${MLCTL:-}"
if [ -z "$mlctl" ]; then
    cargo build --locked --release --bin mlctl
    mlctl="${CARGO_TARGET_DIR:-target}/release/mlctl"
fi
work=bench/work/drift
rm -rf "$work" && mkdir -p "$work/data"
m() { "$mlctl" --project "$work" -q --no-progress "$@"; }

m export --sample skill-assignment --rows 10000 --seed 42 -o "$work/data/train.csv" >/dev/null
m train "$work/data/train.csv" --target success --name m >/dev/null

# name | flags of `mlctl drift`
settings=(
    "mlctl defaults (KS / chi-square, Bonferroni; distances only when both samples have ≥ 5,000 rows)|"
    "Evidently's defaults for a reference > 1,000 rows: Wasserstein / Jensen–Shannon > 0.1, rule \"any feature\"|--stattest wasserstein --stattest jensenshannon --no-bonferroni"
    "Evidently's defaults with its dataset rule (share of drifted features ≥ 0.5)|--stattest wasserstein --stattest jensenshannon --no-bonferroni --fail-on share=0.5"
    "KS / chi-square at p < 0.05 per feature, no correction, rule \"any feature\"|--stattest ks --stattest chisquare --no-bonferroni"
)
# name | flags of `mlctl export`
scenarios=(
    "same distribution (fresh seeds of the generator)|"
    "one feature moved by 0.5 SD: \`--shift skill_match_score=0.5\`|--shift skill_match_score=0.5"
    "one feature moved by 0.5 SD: \`--shift emp_performance_rating=0.5\`|--shift emp_performance_rating=0.5"
    "every feature moved by 0.5 SD: \`--shift 0.5\`|--shift 0.5"
)

# Runs `mlctl drift` with flags $2 on every file of folder $1; prints how many said drift (exit 3).
count() {
    local dir="$1" flags="$2" n=0 rc
    for f in "$dir"/*.csv; do
        # shellcheck disable=SC2086
        if m drift m --data "$f" $flags >/dev/null 2>&1; then rc=0; else rc=$?; fi
        case $rc in
            0) ;;
            3) n=$((n + 1)) ;;
            *) echo "mlctl drift failed (exit $rc) on $f with: $flags" >&2; exit 1 ;;
        esac
    done
    echo "$n"
}

# Draws `count` samples of `size` rows with export flags $3 into folder $4.
draw() {
    local count="$1" size="$2" flags="$3" dir="$4"
    mkdir -p "$dir"
    for ((i = 0; i < count; i++)); do
        # shellcheck disable=SC2086
        m export --sample skill-assignment --rows "$size" --seed $((1000 + i)) $flags -o "$dir/s$i.csv" >/dev/null
    done
}

out=bench/DRIFT_RESULTS.md
start=$(date +%s)
{
    echo "# Drift alarms: false alarms and missed shifts"
    echo
    echo "Written by \`bench/drift_alarms.sh\` (part of \`make bench\`). Reference: the model's profile of the shipped"
    echo "sample (10,000 rows, seed 42). Current data: $samples samples of $rows rows per scenario, seeds 1000 to"
    echo "$((1000 + samples - 1)) of \`mlctl export --sample skill-assignment\`; a shifted scenario moves the same draws"
    echo "(\`--shift\`, see README.md). Each cell: how many of the $samples samples \`mlctl drift\` reported as drifted (exit 3)."
    echo "Wanted: at most 5 for the same distribution, at least 95 for a shift."
    echo
    header="| setting |"
    rule="|---|"
    for s in "${scenarios[@]}"; do
        header="$header ${s%%|*} |"
        rule="$rule---|"
    done
    echo "$header"
    echo "$rule"
} >"$out"
k=0
for s in "${scenarios[@]}"; do
    draw "$samples" "$rows" "${s#*|}" "$work/scenario$k"
    k=$((k + 1))
done
for setting in "${settings[@]}"; do
    line="| ${setting%%|*} |"
    k=0
    for s in "${scenarios[@]}"; do
        n=$(count "$work/scenario$k" "${setting#*|}")
        line="$line $n / $samples |"
        k=$((k + 1))
    done
    echo "$line" | tee -a "$out"
done
# Large current samples: the defaults switch to the distances; they should not cry wolf there either.
draw "$large_samples" "$large_rows" "" "$work/large"
n_default=$(count "$work/large" "")
n_ks=$(count "$work/large" "--stattest ks --stattest chisquare")
{
    echo
    echo "Large current samples ($large_samples samples of $large_rows rows, same distribution): mlctl's defaults (here the"
    echo "distances, both samples having ≥ 5,000 rows) report drift for $n_default of $large_samples; KS / chi-square with"
    echo "the Bonferroni correction for $n_ks of $large_samples."
    echo
    echo "Evidently's tests are reproduced with mlctl's implementations: Wasserstein distance over the reference"
    echo "standard deviation (as Evidently), Jensen–Shannon distance in base 2 on the reference deciles (Evidently uses"
    echo "the natural log on Sturges bins, so its distances run somewhat higher at the same threshold). The run took"
    echo "$(($(date +%s) - start)) s with \`$mlctl\`."
} >>"$out"
cat "$out"
