"""The network contract: every registered network declares what it takes and builds, the
registry is built from the declarations, and ``from_context`` builds each one from a fit."""

import inspect
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import skimb.networks as networks
from skimb import list_modules
from skimb.networks import (
    INPUT_KINDS,
    TABLE,
    Network,
    SmoothClipScaler,
    check_network_input,
    default_network,
    network_class,
)

#: Small parameters per network, so that building each one is quick.
SMALL = {"mlp": {"hidden_units": (8,)}, "tabm": {"k": 2, "hidden_units": (8, 8)}, "linear": {}}
N_FEATURES, N_OUTPUTS = 3, 2


def _rows(n=60):
    X = np.random.default_rng(0).normal(size=(n, N_FEATURES)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def _context(with_rows=True):
    X, y = _rows()
    return SimpleNamespace(n_features=N_FEATURES, front_X=X if with_rows else None,
                           front_y=y if with_rows else None)


@pytest.fixture(params=list_modules())
def network(request):
    return network_class(request.param)


def test_small_parameters_cover_every_registered_network():
    assert set(SMALL) == set(list_modules())


def test_every_network_declares_its_attributes_with_the_right_types(network):
    assert issubclass(network, Network) and network is not Network
    assert isinstance(network.name, str) and network.name
    assert isinstance(network.accepts, frozenset) and network.accepts
    assert network.accepts <= set(INPUT_KINDS)
    assert type(network.cosine_head) is bool and type(network.ensemble) is bool
    assert TABLE in network.accepts  # every network today takes a numeric table


def test_the_registry_is_the_declarations():
    exported = [getattr(networks, name) for name in networks.__all__]
    declared = {obj for obj in exported
                if inspect.isclass(obj) and issubclass(obj, Network) and obj is not Network}
    assert list_modules() == sorted(cls.name for cls in declared)
    assert len({cls.name for cls in declared}) == len(declared)
    for cls in declared:
        assert network_class(cls.name) is cls


def test_the_constructor_keeps_the_shared_signature(network):
    parameters = inspect.signature(network).parameters
    assert list(parameters)[:2] == ["n_features", "n_outputs"]
    assert parameters["X_train"].default is None and parameters["y_train"].default is None
    keyword_only = [key for key, p in parameters.items() if p.kind is p.KEYWORD_ONLY]
    assert set(keyword_only) == set(parameters) - {"n_features", "n_outputs"}
    assert network.parameter_defaults() == {
        key: parameters[key].default for key in keyword_only
        if key not in ("X_train", "y_train", "columns")}


def test_from_context_builds_each_network_on_the_context_rows(network):
    context = _context()
    built = network.from_context(context, N_OUTPUTS, **SMALL[network.name])
    assert type(built) is network and built.front_fitted
    expected = SmoothClipScaler(N_FEATURES).fit(context.front_X)
    torch.testing.assert_close(built.scaler.center, expected.center)
    out = built(torch.from_numpy(context.front_X[:5]))
    # the ensemble declaration is what the output shape says
    assert out.shape == ((5, 2, N_OUTPUTS) if network.ensemble else (5, N_OUTPUTS))
    assert torch.isfinite(out).all()


def test_a_cosine_head_is_what_the_declaration_says(network):
    params = {**SMALL[network.name], "normalized_output": True}
    if not network.cosine_head:
        with pytest.raises(ValueError, match="takes no parameter module__normalized_output"):
            network.from_context(_context(), N_OUTPUTS, **params)
        return
    built = network.from_context(_context(), N_OUTPUTS, **params)
    out = built(100 * torch.randn(7, N_FEATURES))
    assert out.abs().max() <= 1 + 1e-5  # cosines, whatever the input's scale


def test_unknown_parameters_are_refused_with_the_accepted_ones_listed(network):
    accepted = sorted(network.parameter_defaults())
    expected = (f"module='{network.name}' takes no parameter module__bogus, module__zeta; "
                f"it takes: {', '.join('module__' + key for key in accepted)}.")
    with pytest.raises(ValueError, match=re.escape(expected)):
        network.from_context(_context(), N_OUTPUTS, zeta=1, bogus=2)


def test_a_network_that_needs_rows_is_refused_without_them(network):
    assert network.needs_rows({})  # every built-in network scales robustly by default
    with pytest.raises(ValueError, match=f"module='{network.name}' fits its front on the training "
                                         "rows.*module__scaling=None"):
        network.from_context(_context(with_rows=False), N_OUTPUTS, **SMALL[network.name])


def test_without_rows_a_network_that_fits_nothing_is_built(network):
    off = {key: None for key in ("scaling", "num_embeddings")
           if key in network.parameter_defaults()}
    assert not network.needs_rows(off)
    built = network.from_context(_context(with_rows=False), N_OUTPUTS,
                                 **SMALL[network.name], **off)
    assert built.front_fitted and isinstance(built.scaler, torch.nn.Identity)


def test_needs_rows_takes_the_defaults_for_missing_parameters():
    mlp, tabm = network_class("mlp"), network_class("tabm")
    assert not mlp.needs_rows({"scaling": None})  # MLP: no embeddings by default
    assert tabm.needs_rows({"scaling": None})  # TabM: PLE by default
    assert not tabm.needs_rows({"scaling": None, "num_embeddings": "periodic"})
    assert mlp.needs_rows({"scaling": None, "num_embeddings": "ple"})


def test_check_network_input_refuses_an_undeclared_kind(network):
    for kind in network.accepts:
        check_network_input(network, kind)
    for kind in set(INPUT_KINDS) - network.accepts:
        with pytest.raises(ValueError, match=f"module='{network.name}' takes raw_columns or "
                                             f"table inputs.*got {kind}"):
            check_network_input(network, kind)
    with pytest.raises(ValueError, match="Unknown input kind 'image'"):
        check_network_input(network, "image")


def test_check_network_input_follows_the_declaration():
    class Images(Network):
        name, accepts = "images", frozenset({"tensor"})

    check_network_input(Images, "tensor")
    with pytest.raises(ValueError, match="module='images' takes tensor inputs"):
        check_network_input(Images, TABLE)


@pytest.mark.parametrize("declaration", [{"accepts": {TABLE}}, {"accepts": frozenset({"image"})},
                                         {"cosine_head": 1}, {"ensemble": "yes"}, {"name": 3}])
def test_a_wrong_declaration_is_refused_when_the_class_is_defined(declaration):
    with pytest.raises(TypeError, match="must be"):
        type("Wrong", (Network,), dict(declaration))


@pytest.mark.parametrize("device", ["cpu", "cuda", "mps"])
def test_default_network_with_a_cosine_head_declares_one(device):
    name, params = default_network(device, cosine_head=True)
    assert network_class(name).cosine_head
    assert set(params) <= set(network_class(name).parameter_defaults())
    plain, _ = default_network(device)
    if network_class(plain).cosine_head:  # the device's own default when it has one
        assert name == plain
