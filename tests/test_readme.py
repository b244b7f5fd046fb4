"""The README's Python examples run as written (the learner's first contact must work), and
so do those of docs/pytorch.md, its "Coming from PyTorch" page, and docs/extending.md, its
"Your own op, model or optimizer" page; the links of all three lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tinygrad_seq as ts

README = Path(__file__).resolve().parents[1] / "README.md"
BENCHMARKS_README = README.parent / "benchmarks" / "README.md"
RESULTS = README.parent / "benchmarks" / "RESULTS.md"
PYTORCH_PAGE = README.parent / "docs" / "pytorch.md"
EXTENDING_PAGE = README.parent / "docs" / "extending.md"
# the pages whose examples run and whose links are checked
PAGES = (README, PYTORCH_PAGE, EXTENDING_PAGE)


def python_blocks(page: Path = README) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_examples():
    assert len(python_blocks()) >= 3
    assert len(python_blocks(PYTORCH_PAGE)) >= 3  # conveniences, masks, checkpoints
    assert len(python_blocks(EXTENDING_PAGE)) >= 6  # two ops, promises, model, optimizer, checks


EXAMPLES = [(page, index) for page in PAGES for index in range(len(python_blocks(page)))]


@pytest.mark.numpy_only
@pytest.mark.parametrize(
    "page, index", EXAMPLES, ids=[f"{page.name}-{index}" for page, index in EXAMPLES]
)
def test_readme_example_runs(page, index, tmp_path, monkeypatch):
    code = python_blocks(page)[index]
    if "f_t = (hx @ W_f_T" in code:  # an excerpt of a module, shown for reading
        pytest.skip("excerpt of nn/lstm.py; checked against the file below")
    if "cupy" in code and ts.backend.unavailable_reason("cupy"):
        pytest.skip(f"needs CuPy: {ts.backend.unavailable_reason('cupy')}")
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    namespace: dict = {}  # (no __name__: classes defined here get __module__ None)
    exec(compile(code, f"{page.name} block {index}", "exec"), namespace)


def heading_anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation but - and _
    dropped, spaces made -, a repeated heading numbered -1, -2, ...; code blocks skipped."""
    anchors: set[str] = set()
    prose = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for heading in re.findall(r"^#{1,6} (.+)$", prose, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        repeat = 0
        while (f"{slug}-{repeat}" if repeat else slug) in anchors:
            repeat += 1
        anchors.add(f"{slug}-{repeat}" if repeat else slug)
    return anchors


def test_heading_anchors_are_githubs():
    anchors = heading_anchors(README)
    assert {"set-up-two-commands", "the-seeds-claims-measured", "gpu-cupy"} <= anchors
    assert "coming-from-pytorch" in heading_anchors(PYTORCH_PAGE)
    assert {
        "your-own-op-model-or-optimizer",
        "checking-it-gradcheck-detect_anomaly-graph-pictures",  # "_" kept, ":" and "," dropped
    } <= heading_anchors(EXTENDING_PAGE)


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_link_leads_to_a_file_and_heading_that_exist(page):
    """Links are relative to the page's own folder: from docs/, a picture is img/x.png and
    the README is ../README.md; an #anchor must name a heading of the page it points to."""
    prose = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    targets = re.findall(r"\]\(([^)\s]+)\)", prose)
    assert targets, page.name
    for target in targets:
        if re.match(r"[a-z]+:", target):
            continue  # a web address: not checked here
        path, _, anchor = target.partition("#")
        file = (page.parent / path) if path else page
        assert file.is_file(), f"{page.name} links to {target}: no such file"
        if anchor:
            assert file.suffix == ".md", f"{page.name} links to {target}: not a page"
            assert anchor in heading_anchors(file), f"{page.name} links to {target}: no heading"


def test_the_readme_keeps_a_short_pytorch_section_that_links_the_page():
    section = README.read_text(encoding="utf-8").split("## Coming from PyTorch\n", 1)[1]
    section = section.split("\n## ", 1)[0].strip()
    assert len(section.splitlines()) <= 24, "the README's part is the five first differences"
    assert "](docs/pytorch.md)" in section
    assert "](#coming-from-pytorch)" in README.read_text(encoding="utf-8")  # in Contents
    assert "](../README.md#coming-from-pytorch)" in PYTORCH_PAGE.read_text(encoding="utf-8")


def test_the_readme_keeps_a_short_own_op_section_that_links_the_page():
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## Your own op, model or optimizer\n", 1)[1]
    section = section.split("\n## ", 1)[0].strip()
    assert len(section.splitlines()) <= 25, "the README's part is one op and its gradcheck"
    assert "](docs/extending.md)" in section
    assert "](#your-own-op-model-or-optimizer)" in readme  # in Contents
    page = EXTENDING_PAGE.read_text(encoding="utf-8")
    assert "](../README.md#your-own-op-model-or-optimizer)" in page
    # the README's example is the page's first, as written there
    (cube,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert "class Cube(ts.Function)" in cube and cube == python_blocks(EXTENDING_PAGE)[0]


def test_only_the_lstm_excerpt_is_skipped():
    excerpts = [b for b in python_blocks() if "f_t = (hx @ W_f_T" in b]
    assert len(excerpts) == 1


def test_lstm_excerpt_matches_the_source():
    excerpt = next(b for b in python_blocks() if "f_t = (hx @ W_f_T" in b)
    source = (README.parent / "tinygrad_seq" / "nn" / "lstm.py").read_text()
    for line in excerpt.strip().splitlines():
        assert line.strip() in source, line


# each model's paper and year, as the seed's timeline gives them: in the nn file's docstring
# (the first) and in the README's table of models (all but Bahdanau's short form)
SEED_TIMELINE = {
    "rnn.py": ["Elman, 1990"],
    "lstm.py": ["Hochreiter & Schmidhuber, 1997"],
    "gru.py": ["Cho et al., 2014"],
    "seq2seq.py": ["Sutskever et al., 2014", "Bahdanau et al., 2014"],
    "attention.py": ["Bahdanau, 2014", "Luong, 2015", "Vaswani et al., 2017"],
    "transformer.py": ["Vaswani et al., 2017"],
}


def test_the_models_table_and_each_models_file_give_the_seeds_papers_and_years():
    table = README.read_text().split("| seed section |", 1)[1].split("\n\n", 1)[0]
    for file, papers in SEED_TIMELINE.items():
        doc = (README.parent / "tinygrad_seq" / "nn" / file).read_text().split('"""', 2)[1]
        for paper in papers:
            assert paper in doc, (file, paper)
            if "et al." in paper or "&" in paper or file == "rnn.py":
                assert paper in table, (file, paper)
    assert "Luong et al., 2015" in table  # attention.py's short form, in full


def test_every_python_dash_m_command_in_the_readme_works_where_it_says():
    """`python -m benchmarks` only imports from the repository root (pip installs the suite as
    `tinygrad_seq.benchmarks`), so the README must say so wherever it names it, and so must
    benchmarks/README.md, which has the full account of the recorded runs; the installed
    names they give must exist."""
    import importlib.util
    import tomllib

    text = "\n".join(page.read_text() for page in (*PAGES, BENCHMARKS_README))
    flat = " ".join(text.split())  # the README wraps its lines
    pyproject = tomllib.loads((README.parent / "pyproject.toml").read_text())
    installed = pyproject["tool"]["setuptools"]["packages"]
    assert "tinygrad_seq.benchmarks" in installed
    assert "benchmarks" not in installed  # so `python -m benchmarks` needs the checkout
    for match in re.finditer(r"`python -m (benchmarks[\w.]*)", flat):
        nearby = flat[match.start() : match.end() + 90]
        if match.group(1) == "benchmarks.compare":
            continue  # compares two git revisions: a checkout by its nature
        assert "repository root" in nearby or "checkout" in nearby, nearby
    for name in set(re.findall(r"`python -m (tinygrad_seq[\w.]*)", flat)):
        assert importlib.util.find_spec(name) is not None, name
    assert "It runs from any folder after `pip install .`" in flat  # tinygrad-seq bench


@pytest.mark.numpy_only
def test_the_bptt_numbers_are_what_the_named_commands_draw():
    """The "Seeing backpropagation through time" numbers come from `tinygrad-seq graph rnn
    --steps 20` and `graph lstm --steps 4 / 20` at the default seed 0: rebuild those models
    as the commands do and find each number in the README."""
    from tinygrad_seq.demos import graph_cmd
    from tinygrad_seq.demos.graphs_demo import _norms_by_step

    flat = " ".join(README.read_text().split())
    for command in ("graph rnn --steps 20", "graph lstm --steps 4", "graph lstm --steps 20"):
        assert command in flat, command

    def e(x: float) -> str:  # as the README writes it: 2.2e-1, not 2.2e-01
        return re.sub(r"e([+-])0(\d)", r"e\1\2", f"{x:.1e}")

    def norms(model: str, steps: int, name: str) -> dict[int, float]:
        ts.manual_seed(0)  # what the command's --seed 0 does before it builds the model
        return _norms_by_step(graph_cmd.build(model, steps).loss, name)

    def initial(model: str, steps: int, name: str) -> float:
        """‖∂L/∂h_0‖ (or C_0) of the initial state, the command's h0 (C0) box."""
        ts.manual_seed(0)
        loss = graph_cmd.build(model, steps).loss
        (box,) = [n for n in ts.graph.trace(loss).nodes if n.name == name]
        return box.grad_norm

    # h_0 is the initial state, as in the seed; the scope t=k (drawn as t = k + 1, as the
    # seed counts) outputs h_{k+1}
    rnn, h0 = norms("rnn", 20, "h_t"), initial("rnn", 20, "h0")
    said = (
        f"‖∂L/∂h_20‖ is {e(rnn[19])}, ‖∂L/∂h_11‖ is {e(rnn[10])}, "
        f"‖∂L/∂h_1‖ is {e(rnn[0])} and ‖∂L/∂h_0‖ is {e(h0)}"
    )
    assert said in flat
    assert f"about {round(rnn[19] / h0, -3):,.0f} over the 20 steps" in flat
    c4 = norms("lstm", 4, "C_t")
    said = (
        f"goes from {e(c4[3])} at C_4 (step t = 4) to {e(c4[2])}, {e(c4[1])} and {e(c4[0])} "
        f"at C_1 (t = 1), and {e(initial('lstm', 4, 'C0'))} at the initial state C_0"
    )
    assert said in flat
    c20, c0 = norms("lstm", 20, "C_t"), initial("lstm", 20, "C0")
    assert f"falls from {e(c20[19])} at C_20 (step t = 20) to {e(c0)} at the initial" in flat
    assert f"a factor of about {round(c20[19] / c0, -1):.0f}" in flat
    assert f"C_0 gets about {round(c0 / h0, -1):.0f} times the gradient the RNN's h_0" in flat


@pytest.mark.numpy_only
def test_the_own_cell_identity_example_prints_what_its_comments_say(capsys):
    # SymPy proves the stated Jacobian, refuses the direct term alone, and the engine agrees
    (block,) = [b for b in python_blocks() if "forget-only cell" in b]
    exec(compile(block, "README own-cell block", "exec"), {})
    assert capsys.readouterr().out.split() == ["True", "False", "True"]


@pytest.mark.numpy_only
def test_the_extending_pages_checks_print_what_their_comments_say(capsys):
    # the promises' example backpropagates twice through Scale; the checks' example is
    # caught by gradcheck (the 3 missing: 4 against 12 at x = 2) and by detect_anomaly
    # (log 0 = -inf, at the line of the block that made it)
    blocks = python_blocks(EXTENDING_PAGE)
    (scale,) = [b for b in blocks if "class Scale(" in b]
    exec(compile(scale, "extending.md Scale block", "exec"), {})
    assert capsys.readouterr().out.split() == ["[10.", "10.", "10.]"]
    (checks,) = [b for b in blocks if "class CubeWrong(" in b]
    exec(compile(checks, "extending.md checks block", "exec"), {})
    gradcheck_said, anomaly_said = capsys.readouterr().out.splitlines()
    assert gradcheck_said.startswith("gradcheck failed for input 0 (shape (3,)) at index (2,)")
    assert "analytic 4, numeric 12 " in gradcheck_said
    assert anomaly_said.startswith("forward of 'Log' produced 0 NaN and 1 inf values")
    line = checks.splitlines().index("        Log.apply(ts.Tensor(np.array([1.0, 0.0])))") + 1
    assert f"made at extending.md checks block:{line} " in anomaly_said


def test_the_speed_headline_is_the_recorded_run():
    """README's "Speed" table quotes benchmarks/RESULTS.md's paired ratios (engine ÷ floor,
    engine ÷ PyTorch) and names its commit; its memory sentence quotes the targets table."""
    speed = README.read_text().split("## Speed", 1)[1].split("\n## ", 1)[0]
    results = RESULTS.read_text()
    paired = results.split("## Paired", 1)[1].split("\n## ", 1)[0]
    recorded = {
        row[0]: (row[4], row[5])
        for row in (
            [cell.strip() for cell in line.strip("|").split("|")] for line in paired.splitlines()
        )
        if len(row) > 5 and row[1] == "tinygrad_seq"
    }
    quoted = {}
    for line in speed.splitlines():
        cells = [cell.strip().strip("*") for cell in line.strip("|").split("|")]
        if line.startswith("| W"):
            quoted[re.match(r"W\d(-fused)?", cells[0]).group(0)] = (cells[1], cells[2])
    assert set(quoted) == {"W1", "W2", "W3", "W4", "W5", "W4-fused"}
    for workload, ratios in quoted.items():
        assert recorded[workload] == ratios, workload
    commit = re.search(r"tinygrad_seq \S+ at commit (\w+)", results).group(1)
    assert f"commit {commit}," in " ".join(speed.split())
    peak = re.search(r"\| W4: graph's peak memory[^|]*\| ([\d.]+)×", results).group(1)
    fused = re.search(r"\| W4-fused: graph's peak memory[^|]*\| ([\d.]+)×", results).group(1)
    flat = " ".join(speed.split())
    assert f"W4's holds {float(peak):.1f}× the floor's at its peak" in flat
    assert f"the fused step's holds {fused}×" in flat
    for page in ("benchmarks/README.md", "benchmarks/RESULTS.md", "benchmarks/PEERS.md"):
        assert f"]({page})" in speed, page


def test_every_demo_of_the_tour_has_its_picture_in_the_readme():
    """Each demo the tour runs shows its figure in the README (from `tour --quick --seed 0`,
    copied into docs/img/; the transformer demo's as transformer_demo.png, since
    transformer.png is the graph picture), every picture shown is there, and every file
    there is named in the README (a PNG beside an SVG of the same name is its PNG version)."""
    from tinygrad_seq.demos.tour import DEMOS

    text = README.read_text()
    shown = re.findall(r"!\[[^\]]*\]\((docs/img/[^)\s]+)\)", text)
    pictures = {
        "fixed-size": "fixed_size.png",
        "vanishing": "vanishing.png",
        "memory": "memory.png",
        "agreement": "agreement.png",
        "gru-vs-lstm": "gru_vs_lstm.png",
        "bottleneck": "bottleneck.png",
        "alignments": "alignments.png",
        "transformer": "transformer_demo.png",
        "complexity": "complexity.png",
        "bptt-graphs": "bptt_norms.png",
        "derivations": "derivations.png",
    }
    assert set(pictures) == set(DEMOS)  # a new demo needs its picture here and in the README
    for demo, name in pictures.items():
        assert f"docs/img/{name}" in shown, demo
    folder = README.parent / "docs" / "img"
    for path in shown:
        assert (README.parent / path).is_file(), path
    for file in folder.iterdir():
        if file.suffix == ".png" and file.with_suffix(".svg").exists():
            continue  # "PNG versions of the pictures are next to the SVGs"
        assert file.name in text, f"{file.name} is in docs/img but not in the README"
