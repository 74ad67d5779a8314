#!/usr/bin/env bash
# Re-runs every number in RESULTS.md.
#
#   scripts/results.sh [--quick] [PART ...]      PART: paper projections width-depth
#                                                 labels compression schedule speed (default: all)
#   scripts/results.sh --assemble                 copy tables and figures into RESULTS.md
#
# Each part is an independent set of `idim` commands (printed as they run)
# whose results go to $OUT/PART (default runs/results/PART). Every sweep runs
# with --resume, so an interrupted part continues where it stopped when the
# same command is run again. After a part has run, $OUT/PART/PART.md holds its
# tables; --assemble copies those tables between the matching
# `<!-- results:PART -->` markers of RESULTS.md, and the figures and raw CSV
# files to scripts/results/PART/.
#
# --quick runs a tiny version of every part (300 training examples, 1 epoch,
# two or three d values) in a few minutes: `cargo test` runs it so that this
# script cannot rot. Its numbers mean nothing.
#
# IDIM=path/to/idim uses that binary; otherwise the script builds the release
# binary with cargo first.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0
ASSEMBLE=0
PARTS=()
for a in "$@"; do
    case "$a" in
        --quick) QUICK=1 ;;
        --assemble) ASSEMBLE=1 ;;
        paper | projections | width-depth | labels | compression | schedule | speed) PARTS+=("$a") ;;
        projections-fastfood | projections-sparse | projections-dense) PARTS+=("$a") ;;
        all) PARTS+=(paper projections width-depth labels compression schedule speed) ;;
        -h | --help)
            sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "results.sh: unknown argument '$a'; use --quick, --assemble or a part:" \
                "paper projections width-depth labels compression schedule speed" >&2
            exit 2
            ;;
    esac
done
if [[ ${#PARTS[@]} -eq 0 && $ASSEMBLE -eq 0 ]]; then
    PARTS=(paper projections width-depth labels compression schedule speed)
fi
OUT=${OUT:-$ROOT/runs/results}
RESULTS_MD=${RESULTS_MD:-$ROOT/RESULTS.md}
FIGURES=${FIGURES:-$ROOT/scripts/results}
if [[ -z "${IDIM:-}" ]]; then
    (cd "$ROOT" && cargo build --release --quiet)
    IDIM=$ROOT/target/release/idim
fi

# Prints a command, then runs it.
run() {
    echo "+ $*" | sed "s#$IDIM#idim#; s#$OUT#\$OUT#g" >&2
    "$@"
}

# pick FULL QUICK: FULL normally, QUICK under --quick.
pick() { if [[ $QUICK -eq 1 ]]; then echo "$2"; else echo "$1"; fi; }

# The training schedule of every part (see RESULTS.md, "Schedule"), and the
# tiny one of --quick.
SCHED=(--epochs "$(pick 10 1)")
[[ $QUICK -eq 1 ]] && SCHED+=(--subset 300)

# sweep PART NAME ARGS...: one resumable `idim sweep` into $OUT/PART/NAME.
sweep() {
    local part=$1 name=$2
    shift 2
    run "$IDIM" sweep --resume --out "$OUT/$part/$name" "${SCHED[@]}" "$@" >/dev/null
}

# report PART ARGS...: the Markdown tables of the results files among ARGS,
# appended to PART.md; summary.json, accuracy.svg and any other figure go to $OUT/PART.
report() {
    local part=$1
    shift
    run "$IDIM" report --markdown --out "$OUT/$part" "$@" >>"$OUT/$part/$part.md"
}

# figure PART FILE CAPTION: embeds $OUT/PART/FILE (as copied by --assemble) in PART.md.
figure() {
    printf '\n![%s](scripts/results/%s/%s)\n' "$3" "$1" "$2" >>"$OUT/$1/$1.md"
}

start_part() {
    mkdir -p "$OUT/$1"
    : >"$OUT/$1/$1.md"
}

part_paper() {
    start_part paper
    local s=(--seeds "$(pick 3 2)" --baseline-seeds "$(pick 3 1)")
    sweep paper fc --model fc --dims "$(pick 200:1000:100,1200 300,1000)" "${s[@]}"
    sweep paper fc-shuffled-pixels --model fc --shuffle-pixels 1 \
        --dims "$(pick 200:1000:100,1200 300,1000)" "${s[@]}"
    sweep paper lenet --model lenet --dims "$(pick 100:400:50,500 100,300)" "${s[@]}"
    sweep paper lenet-shuffled-pixels --model lenet --shuffle-pixels 1 \
        --dims "$(pick 250,500,750,1000,1250,1500,2000,2500,3000 300,1000)" "${s[@]}"
    local n
    report paper "$OUT"/paper/{fc,fc-shuffled-pixels,lenet,lenet-shuffled-pixels}/results.csv
    for n in fc fc-shuffled-pixels lenet lenet-shuffled-pixels; do
        figure paper "$n/accuracy.svg" "$n: test accuracy against d"
    done
}

part_projections() {
    start_part projections
    # One directory per projection, so that the three sweeps can also run at
    # the same time (`scripts/results.sh projections-fastfood` etc.); the
    # report merges them (the shared baseline runs count once).
    projections_fastfood
    projections_sparse
    projections_dense
    report projections "$OUT"/projections/fc-{fastfood,sparse,dense}/results.csv
    for k in fastfood sparse dense; do
        figure projections "fc-$k/accuracy.svg" "fc with a $k P: test accuracy against d"
    done
}

# projections_kind KIND SEEDS DIMS: the fc sweep with a KIND projection.
projections_kind() {
    sweep projections "fc-$1" --model fc --proj "$1" --dims "$3" --seeds "$2" \
        --baseline-seeds "$(pick 3 1)"
}
projections_fastfood() { projections_kind fastfood "$(pick 3 2)" "$(pick 600:1000:100 300,1000)"; }
projections_sparse() { projections_kind sparse "$(pick 3 2)" "$(pick 600:1000:100 300,1000)"; }
# A dense P for fc is 199,210 × d floats (0.6 GB at d = 750) and every step
# streams it twice: one seed, and only the d that bracket both crossings.
projections_dense() { projections_kind dense 1 "$(pick 600:900:100 300,1000)"; }

part_width_depth() {
    start_part width-depth
    local dims
    dims=$(pick 200:1200:100 300,1000)
    for m in mlp:50,50 mlp:100,100 fc mlp:400,400 mlp:200 mlp:200,200,200; do
        sweep width-depth models --model "$m" --dims "$dims" --seeds 1 --baseline-seeds 1
    done
    report width-depth "$OUT/width-depth/models/results.csv" --plot-dint
    figure width-depth dint-vs-D.svg "d_int90 against D"
    figure width-depth models/accuracy.svg "test accuracy against d, every width and depth"
}

part_labels() {
    start_part labels
    # Memorising needs more passes than generalising: 50 epochs of 5,000 examples.
    local SCHED=(--subset "$(pick 5000 300)" --epochs "$(pick 50 2)")
    for f in 0 0.1 0.5 1; do
        sweep labels "shuffled-$f" --model fc --shuffle-labels "$f" --metric train \
            --seeds 1 --baseline-seeds 1 \
            --dims "$(pick 100,200,500,1000,2000,5000,10000,15000,20000,30000 100,1000)"
    done
    report labels "$OUT"/labels/shuffled-{0,0.1,0.5,1}/results.csv --metric train
    figure labels accuracy.svg "training accuracy against d for each fraction of shuffled labels"
}

part_compression() {
    start_part compression
    local dir=$OUT/compression
    local sub=()
    [[ $QUICK -eq 1 ]] && sub=(--subset 300)
    {
        echo "| model | projection | d | D | checkpoint (bytes) | full θ_D as f32 (bytes) | ratio | test accuracy at training | \`idim eval\` |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    } >>"$dir/compression.md"
    for spec in fc:fastfood:750 fc:sparse:750 lenet:fastfood:290; do
        IFS=: read -r model proj d <<<"$spec"
        local f=$dir/$model-$proj-$d.idim
        local out evalout trained evald big bytes
        out=$(run "$IDIM" train --model "$model" --proj "$proj" --dim "$d" --epochs "$(pick 10 1)" \
            "${sub[@]}" --save "$f")
        evalout=$(run "$IDIM" eval "$f")
        trained=$(sed -n 's/^final test accuracy \([0-9.]* %\).*/\1/p' <<<"$out")
        evald=$(sed -n 's/^test accuracy \([0-9.]* %\).*/\1/p' <<<"$evalout")
        big=$(sed -n 's/.*(D = \([0-9]*\)).*/\1/p' <<<"$evalout" | head -1)
        if [[ -z $trained || -z $evald || -z $big ]]; then
            echo "results.sh: could not read the accuracies of $f from idim's output" >&2
            exit 1
        fi
        bytes=$(wc -c <"$f")
        echo "| $model | $proj | $d | $big | $bytes | $((4 * big)) | $(awk -v a="$((4 * big))" -v b="$bytes" 'BEGIN{printf "%.0f×", a/b}') | $trained | $evald |" >>"$dir/compression.md"
    done
}

part_schedule() {
    start_part schedule
    # One long run per d: the accuracy after epoch e of a constant-rate run is
    # bit for bit that of an e-epoch run (same shuffles, same steps), so the
    # per-epoch curves give d_int90 for every schedule length up to 100.
    local SCHED=()
    [[ $QUICK -eq 1 ]] && SCHED=(--subset 300)
    sweep schedule fc --model fc --epochs "$(pick 100 3)" --dims "$(pick 400:1200:100 300,1000)" \
        --seeds 1 --baseline-seeds 1
    report schedule "$OUT/schedule/fc/results.csv" --by-epoch "$(pick 1,2,3,5,10,20,30,50,100 1,2,3)"
    figure schedule dint-vs-epochs.svg "fc: d_int90 against the number of epochs"
    # LeNet on shuffled pixels, whose accuracy curve is flat around 90 %:
    # how far does longer training move its d_int90?
    sweep schedule lenet-shuffled-pixels --model lenet --shuffle-pixels 1 --epochs "$(pick 30 2)" \
        --dims "$(pick 1000,1500,2000,2500 300,1000)" --seeds 1 --baseline-seeds 1
    run "$IDIM" report --markdown --out "$OUT/schedule/lenet-shuffled-pixels" \
        "$OUT/schedule/lenet-shuffled-pixels/results.csv" --by-epoch "$(pick 5,10,20,30 1,2)" >>"$OUT/schedule/schedule.md"
    figure schedule lenet-shuffled-pixels/dint-vs-epochs.svg "LeNet, shuffled pixels: d_int90 against the number of epochs"
}

# One epoch of each configuration the parts train, timed by the trainer's own
# report (run this part alone, on an otherwise idle machine).
part_speed() {
    start_part speed
    local sub=()
    [[ $QUICK -eq 1 ]] && sub=(--subset 300)
    {
        echo "| model | P | d | epoch (s) | examples/s | data | projection | network | optimiser | × full space |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    } >>"$OUT/speed/speed.md"
    local full=""
    for spec in fc:none:0:1e-3 fc:fastfood:750:1e-2 fc:sparse:750:1e-2 fc:dense:750:1e-2 \
        lenet:none:0:1e-3 lenet:fastfood:290:1e-2; do
        IFS=: read -r model proj d lr <<<"$spec"
        local out epoch eps split
        out=$(run "$IDIM" train --model "$model" --proj "$proj" --dim "$((d > 0 ? d : 1))" --lr "$lr" \
            --epochs 1 "${sub[@]}")
        epoch=$(sed -n 's/^time per epoch \([0-9.]*\) s.*/\1/p' <<<"$out")
        eps=$(sed -n 's/.*(training only), \([0-9]*\) examples\/s.*/\1/p' <<<"$out")
        split=$(sed -n 's/^time split: //p' <<<"$out" | sed 's/; eval.*//; s/[a-z]* \([0-9.]* s (\([0-9.]* %\))\)/\2/g; s/, / | /g')
        [[ $proj == none ]] && full=$epoch
        echo "| $model | $proj | $([[ $proj == none ]] && echo D || echo "$d") | $epoch | $eps | $split | $(awk -v a="$epoch" -v b="$full" 'BEGIN{printf "%.2f", a/b}') |" >>"$OUT/speed/speed.md"
    done
}

for p in "${PARTS[@]}"; do
    echo "== part $p ==" >&2
    case "$p" in
        projections-*) mkdir -p "$OUT/projections" && "${p//-/_}" ;;
        *) "part_${p//-/_}" ;;
    esac
done

if [[ $ASSEMBLE -eq 1 ]]; then
    for p in paper projections width-depth labels compression schedule speed; do
        [[ -f "$OUT/$p/$p.md" ]] || continue
        dest=$FIGURES/$p
        mkdir -p "$dest"
        cp "$OUT/$p/$p.md" "$dest/"
        find "$OUT/$p" -name '*.svg' -o -name 'results.csv' | while read -r f; do
            rel=${f#"$OUT/$p/"}
            mkdir -p "$dest/$(dirname "$rel")"
            cp "$f" "$dest/$rel"
        done
        for m in "<!-- results:$p -->" "<!-- /results:$p -->"; do
            if ! grep -qxF "$m" "$RESULTS_MD"; then
                echo "results.sh: $RESULTS_MD lacks the line '$m'; add the pair of markers where part $p belongs" >&2
                exit 1
            fi
        done
        awk -v part="$p" -v file="$dest/$p.md" '
            $0 == "<!-- results:" part " -->" { print; while ((getline l < file) > 0) print l; close(file); skip = 1; next }
            $0 == "<!-- /results:" part " -->" { skip = 0 }
            !skip { print }' "$RESULTS_MD" >"$RESULTS_MD.tmp"
        mv "$RESULTS_MD.tmp" "$RESULTS_MD"
    done
fi
