#!/usr/bin/env bash
# The naive pipelines that benchmarks/run.py times workshopkit against, written the way a
# small CI script would: one jupytext / papermill / nbconvert process per lesson, in order.
#
#   naive.sh loop            run every track*/lesson*.py (cwd = a copy of the workload):
#                            jupytext -> lessonNNN.ipynb, papermill -> lessonNNN.out.ipynb
#   naive.sh slides IN OUT   one `jupyter nbconvert --to slides` per IN/*.ipynb, into OUT
#   naive.sh build           loop, then per lesson slides + learner notebook (outputs cleared)
#                            + solution copy into dist/<track>/, then one zip per track
#
# The venv's bin directory must come first on PATH (run.py does that).
set -euo pipefail

loop() {
    for f in track*/lesson*.py; do
        b=${f%.py}
        jupytext --to ipynb "$f" -o "$b.ipynb"
        papermill "$b.ipynb" "$b.out.ipynb" --cwd "$(dirname "$f")"
    done
}

case ${1:-} in
loop)
    loop
    ;;
slides)
    in=$2
    out=$3
    mkdir -p "$out"
    for f in "$in"/*.ipynb; do
        jupyter nbconvert --to slides "$f" --output-dir "$out"
    done
    ;;
build)
    loop
    for f in track*/lesson*.py; do
        b=${f%.py}
        track=$(dirname "$f")
        name=$(basename "$b")
        out=dist/$track
        mkdir -p "$out"
        jupyter nbconvert --to slides "$b.out.ipynb" --output-dir "$out" --output "$name"
        jupyter nbconvert --to notebook --ClearOutputPreprocessor.enabled=True "$b.out.ipynb" \
            --output-dir "$out" --output "$name"
        cp "$b.out.ipynb" "$out/$name.solution.ipynb"
    done
    (cd dist && for t in */; do zip -q -r "${t%/}.zip" "${t%/}"; done)
    ;;
*)
    echo "usage: naive.sh loop | slides IN OUT | build" >&2
    exit 2
    ;;
esac
