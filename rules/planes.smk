# The plane through a fitted curve's three control points (Garipov et al. 2018, figures 1-2).


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
        curve=alternatives(FITTED_KINDS),
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        settings=SETTINGS.plane(),
        knobs=SETTINGS.knobs(SETTINGS.plane()),
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
        curve=alternatives(FITTED_KINDS),
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=SETTINGS.sections("plot"),
        code=script_code("plot_plane.py"),
    script:
        "../workflow_scripts/plot_plane.py"
