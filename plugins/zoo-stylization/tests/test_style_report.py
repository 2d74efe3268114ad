"""The style benchmark's samples show the style image beside the content (TaskSpec.shown_extras)."""

import zoo


def test_style_samples_and_grid_show_the_style_image(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text("name: style-samples\nseed: 0\nsamples_per_benchmark: 1\nbenchmarks:\n"
                     "  - name: style\n    task: style-transfer\n"
                     "    dataset: {name: samples-style, styles: [ihc], crop: 32, style_size: 32, limit: 1}\n"
                     "    methods: [reinhard.classical]\n    metrics: [color-hist-distance]\n")
    out = tmp_path / "run"
    zoo.bench(str(suite), out=out, progress=False)
    from zoo.results import sample_file

    style = out / sample_file("style", "_style", "", "chelsea~ihc")
    assert style.is_file() and (out / sample_file("style", "_input", "", "chelsea~ihc")).is_file()
    from zoo.images import read_image
    from zoo_stylization.datasets import style_image

    assert (read_image(style) - style_image("ihc", 32)).abs().max() <= 1 / 255 + 1e-6  # the style the method got
    html = (out / "index.html").read_text()
    assert sample_file("style", "_style", "", "chelsea~ihc").split("/")[-1] in html  # the viewer offers it
    grids = list((out / "plots").glob("samples-style-*.png"))
    assert grids  # the static grid draws it too (input, style, outputs, reference)
