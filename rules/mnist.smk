# MNIST branch: digits read row by row -> train -> saliency -> table and figures (paper Fig. 6, Fig. 11).


rule mnist_prepare:
    output:
        "resources/mnist/digits.npz",
    log:
        "logs/mnist/prepare.log",
    benchmark:
        "logs/benchmark/mnist/prepare.tsv"
    priority: 30
    conda:
        "../envs/mnist.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(1000),
        runtime=on_attempt(1),
    params:
        source=MNIST["source"],
        idx_folder=MNIST["idx_folder"],
        verify=MNIST["verify"],
        digits=MNIST["digits"],
        max_train=MNIST["max_train"],
        max_test=MNIST["max_test"],
        ink_threshold=MNIST["ink_threshold"],
        seed=job_seed("mnist_prepare"),
    script:
        "../workflow_scripts/mnist_prepare.py"


rule mnist_train:
    input:
        "resources/mnist/digits.npz",
    output:
        model="results/mnist/models/{model}.pt",
        sidecar="results/mnist/models/{model}.json",
    log:
        "logs/mnist/train/{model}.log",
    benchmark:
        "logs/benchmark/mnist/train/{model}.tsv"
    priority: 30
    conda:
        "../envs/mnist.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=on_attempt(900),
        runtime=on_attempt(2),
    params:
        models={**config["models"], **MNIST["model_overrides"]},
        training={**config["training"], **MNIST["training_overrides"]},
        seed=job_seed("mnist_train"),
    script:
        "../workflow_scripts/mnist_train.py"


rule mnist_saliency:
    input:
        data="resources/mnist/digits.npz",
        model="results/mnist/models/{model}.pt",
    output:
        maps="results/mnist/saliency/{model}_{method}.npz",
        metrics="results/mnist/metrics/{model}_{method}.tsv",
    log:
        "logs/mnist/saliency/{model}_{method}.log",
    benchmark:
        "logs/benchmark/mnist/saliency/{model}_{method}.tsv"
    conda:
        "../envs/mnist.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=on_attempt(900),
        runtime=on_attempt(1),
    params:
        saliency=config["saliency"],
        seed=job_seed("mnist_saliency"),
    script:
        "../workflow_scripts/mnist_saliency.py"


rule mnist_table:
    input:
        # one metrics file and its model's sidecar per (model, method) of params.runs
        metrics=[f"results/mnist/metrics/{m}_{meth}.tsv" for m in MNIST["models"] for meth in METHODS],
        sidecars=[f"results/mnist/models/{m}.json" for m in MNIST["models"] for meth in METHODS],
    output:
        tsv=report(
            "results/mnist/table.tsv",
            caption="../report/mnist_table.rst",
            category="MNIST",
            labels={"table": "accuracy and saliency"},
        ),
        md="results/mnist/table.md",
    log:
        "logs/mnist/table.log",
    benchmark:
        "logs/benchmark/mnist/table.tsv"
    conda:
        "../envs/mnist.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(600),
        runtime=on_attempt(1),
    params:
        runs=[(m, meth) for m in MNIST["models"] for meth in METHODS],
        last_rows=MNIST["last_rows"],
    script:
        "../workflow_scripts/mnist_table.py"


rule mnist_figures:
    input:
        data="resources/mnist/digits.npz",
        maps=[f"results/mnist/saliency/{m}_{PRIMARY_METHOD}.npz" for m in MNIST["models"]],
        metrics=[f"results/mnist/metrics/{m}_{PRIMARY_METHOD}.tsv" for m in MNIST["models"]],
    output:
        examples_png=report(
            "results/mnist/figures/saliency_examples.png",
            caption="../report/mnist_examples.rst",
            category="MNIST",
            labels={"figure": "saliency maps (Fig. 6)"},
        ),
        examples_pdf="results/mnist/figures/saliency_examples.pdf",
        profile_png=report(
            "results/mnist/figures/temporal_profile.png",
            caption="../report/mnist_profile.rst",
            category="MNIST",
            labels={"figure": "temporal saliency profile"},
        ),
        profile_pdf="results/mnist/figures/temporal_profile.pdf",
        profile_tsv="results/mnist/temporal_profile.tsv",
    log:
        "logs/mnist/figures.log",
    benchmark:
        "logs/benchmark/mnist/figures.tsv"
    conda:
        "../envs/mnist.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(800),
        runtime=on_attempt(1),
    params:
        models=MNIST["models"],
        per_digit=MNIST["examples_per_digit"],
        seed=job_seed("mnist_figures"),
    script:
        "../workflow_scripts/mnist_figures.py"
