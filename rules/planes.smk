# The plane through a fitted curve's three control points (Garipov et al. 2018, figures 1-2).


# What shapes a plane: its grid, the objective (model, optimizer and weight decay, batches) and the device; the curve
# itself arrives as the input path file, so a refitted curve reruns its plane.
PLANE_SETTINGS = canonical(
    {
        **settings("model", "device", "planes"),
        "train": {k: SHAPING["train"][k] for k in ("optimizer", "weight_decay", "batch_size")},
    }
)

# The default run draws the planes of the polylines 1→2 and, with a second seed, 1→1′.
PLANE_FIGURES = [
    f"results/planes/polyline/{FIRST}-mem__{end}-{point}.pdf"
    for end, point in ((FIRST, "grok"), (SECOND, "mem"))
    if end
]


rule plane:
    input:
        path="results/paths/{curve}/{a}__{b}.h5",
        dataset="results/dataset.h5",
    output:
        "results/planes/{curve}/{a}__{b}.h5",
    log:
        "results/logs/planes/{curve}/{a}__{b}.log",
    benchmark:
        "results/benchmarks/planes/{curve}/{a}__{b}.tsv"
    wildcard_constraints:
        curve="polyline|bezier",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        settings=PLANE_SETTINGS,
        code=script_code("evaluate_plane.py"),
    script:
        "../workflow_scripts/evaluate_plane.py"


localrules:
    plane_figure,


rule plane_figure:
    input:
        "results/planes/{curve}/{a}__{b}.h5",
    output:
        report("results/planes/{curve}/{a}__{b}.pdf", caption="../report/plane.rst", category="Planes"),
    log:
        "results/logs/planes/{curve}/{a}__{b}.figure.log",
    wildcard_constraints:
        curve="polyline|bezier",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings("plot"),
        code=script_code("plot_plane.py"),
    script:
        "../workflow_scripts/plot_plane.py"
