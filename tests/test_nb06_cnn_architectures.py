"""Notebook 06's references and networks against independent counts and published numbers:
AlexNet's first layer, ResNet's stage sizes and multiply-adds (He et al. 2015, Table 1),
window positions counted one by one, and multiply-adds counted by an explicit loop."""

from __future__ import annotations

import numpy as np
import pytest

from grader.exercises import exercise
from stridelab import architectures as arch
from stridelab.layers import Conv
from tests.notebook_text import cells, first_cell, prose

NB = "06_cnn_architectures"

trace_shapes = exercise("trace_shapes").reference
total_macs = exercise("total_macs").reference


def positions(n: int, k: int, s: int, p: int) -> int:
    """Window starts along one axis, counted one by one: no formula to share a bug with."""
    return sum(1 for start in range(0, n + 2 * p) if start + k <= n + 2 * p and start % s == 0)


def pair(v):
    return v if isinstance(v, tuple) else (v, v)


def loop_count_macs(input_shape, layers) -> int:
    """Multiply-adds counted by walking every output value of every Conv, one at a time."""
    c, h, w = input_shape
    count = 0
    for layer in layers:
        (kh, kw), (sh, sw) = pair(layer.kernel), pair(layer.stride or layer.kernel)
        ph, pw = pair(layer.padding)
        rows, cols = positions(h, kh, sh, ph), positions(w, kw, sw, pw)
        if isinstance(layer, Conv):
            for _ in range(rows * cols * layer.out_channels):
                count += c * kh * kw  # one multiply-add per weight of the filter
            c = layer.out_channels
        h, w = rows, cols
    return count


def test_alexnet_conv1_maps_227_to_55():
    assert trace_shapes((3, 227, 227), [arch.ALEXNET_CONV1]) == [(96, 55, 55)]
    assert (227 - 11) / 4 + 1 == 55
    assert total_macs((3, 227, 227), [arch.ALEXNET_CONV1]) == 55 * 55 * 96 * 3 * 11 * 11


@pytest.mark.parametrize("n, k, s, p, expected", [(5, 3, 2, 0, 2), (5, 3, 2, 1, 3), (6, 3, 2, 1, 3)])
def test_dumoulin_and_visin_output_sizes(n, k, s, p, expected):
    assert trace_shapes((1, n, n), [Conv(1, k, s, p)]) == [(1, expected, expected)]
    assert positions(n, k, s, p) == expected


def test_resnet18_stage_sizes_halve_from_224_to_7():
    net = arch.resnet(18)
    shapes = trace_shapes(net.input_shape, net.layers)
    ends = np.cumsum([len(stage.layers) for stage in net.stages]) - 1
    stage_sizes = [shapes[i][1] for i in ends[:5]]
    assert stage_sizes == [112, 56, 28, 14, 7]
    assert [shapes[i][0] for i in ends[:5]] == [64, 64, 128, 256, 512]  # filters double
    assert shapes[-1] == (1000, 1, 1)


def test_resnet18_total_is_within_2_percent_of_table_1():
    net = arch.resnet(18)
    main = total_macs(net.input_shape, net.layers)
    shortcuts = sum(total_macs(shape, [layer]) for shape, layer in net.shortcuts)
    assert len(net.shortcuts) == 3  # the 1×1, stride-2 projections of conv3_1, conv4_1, conv5_1
    assert net.macs == main + shortcuts
    assert abs(net.macs - 1.82e9) / 1.82e9 < 0.02
    # ... and by hand, stage by stage: 7×7 stem, 4 convs per stage, projections, classifier.
    by_hand = (112 * 112 * 64 * 3 * 49
               + 4 * 56 * 56 * 64 * 64 * 9
               + sum(h * h * c * (c // 2) * 9 + 3 * h * h * c * c * 9 + h * h * c * (c // 2)
                     for h, c in ((28, 128), (14, 256), (7, 512)))
               + 512 * 1000)
    assert net.macs == by_hand


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_every_resnet_matches_table_1_within_2_percent(depth):
    assert abs(arch.resnet(depth).macs / 1e9 - arch.PAPER_GMACS[depth]) / arch.PAPER_GMACS[depth] < 0.02


def test_resnet_weights_match_the_well_known_counts():
    # 11.7 M and 25.6 M parameters; convolution and fc weights alone are a little fewer.
    assert 11.6e6 < arch.resnet(18).weights < 11.7e6
    assert 25.4e6 < arch.resnet(50).weights < 25.6e6


def test_all_cnn_variants_go_32_16_8_6():
    for variant in ("Model C", "Strided-CNN-C", "ConvPool-CNN-C", "All-CNN-C"):
        net = arch.all_cnn(variant)
        heights = [s[1] for s in trace_shapes(net.input_shape, net.layers)]
        assert heights[-5:] == [8, 6, 6, 6, 1] and 16 in heights
    cost = {v: arch.all_cnn(v).macs for v in ("Model C", "Strided-CNN-C", "All-CNN-C")}
    assert cost["Strided-CNN-C"] < cost["Model C"] < cost["All-CNN-C"]


def test_references_agree_with_explicit_counting_on_the_graders_random_networks():
    cases = [c for t in exercise("total_macs").tests(seed=11) for c in t.cases]
    for case in cases:
        shape, layers = case.args
        assert total_macs(shape, layers) == loop_count_macs(shape, layers) == arch.macs(shape, layers)
        expected = [s for s in trace_shapes(shape, layers)]
        assert expected == arch.trace(shape, layers)
        assert all(isinstance(v, int) for s in expected for v in s)


def test_trace_matches_the_shapes_of_a_real_forward_pass():
    from stridelab.training import conv2d_layer

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 13, 10))
    layers = [Conv(3, (3, 2), stride=(2, 1), padding=(1, 0)), Conv(4, 3, stride=2)]
    shapes = trace_shapes((2, 13, 10), layers)
    for layer, shape in zip(layers, shapes):
        w = rng.standard_normal((layer.out_channels, x.shape[1], *pair(layer.kernel)))
        x = conv2d_layer(x, w, stride=layer.stride, padding=layer.padding)
        assert x.shape[1:] == shape


def test_layers_that_do_not_fit_are_reported():
    with pytest.raises(ValueError, match="does not fit"):
        arch.trace((3, 4, 4), [Conv(8, 5)])


def test_figures_and_tables_describe_their_numbers():
    net = arch.resnet(18)
    figure = arch.stage_figure(net)
    assert "conv5_x 7" in figure.alt and "1.81 G" in figure.alt
    assert "1.814 G" in repr(net.table()) and "<table>" in net.table()._repr_html_()
    sweep = arch.stride_sweep_figure((3, 227, 227), arch.ALEXNET_CONV1)
    assert "217×217" in sweep.alt and "55×55" in sweep.alt
    assert "All-CNN-C" in arch.compare_figure([arch.all_cnn("Model C"), arch.all_cnn()]).alt


def test_32_times_smaller_is_per_side():
    text = prose(NB)
    assert "a 32× smaller map" not in text
    assert "a map 32 times smaller per side — 1024 times fewer positions" in text
    assert (224 // 7) ** 2 == 1024


def test_all_cnn_keeps_only_its_global_average():
    assert "only the global average at the very end" in prose(NB)


def test_the_stage_figure_labels_its_log_axis_with_the_sizes():
    figure = arch.stage_figure(arch.resnet(18)).figure
    size_ax = figure.axes[0]
    assert size_ax.get_yscale() == "log"
    assert [t.get_text() for t in size_ax.get_yticklabels()] == ["1", "7", "14", "28", "56", "112"]


def test_as_pair_comes_from_the_course_not_a_local_copy():
    assert "as_pair" in cells(NB)[first_cell(NB, "from stridelab import")].source
    assert "def as_pair" not in "".join(c.source for c in cells(NB))
