"""The network contract, for every registered network: it declares what it takes and builds,
the registry is built from the declarations, its front is fitted on the training rows
(``fit_front``), the network is built on that front without them (``from_front``), and
``from_context`` is the two in one."""

import inspect
import pickle
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import skimb.networks as networks
from skimb import list_modules
from tests.helpers import raw_frame
from skimb.networks import (
    INPUT_KINDS,
    RAW_COLUMNS,
    TABLE,
    Network,
    SmoothClipScaler,
    TableFront,
    check_network_input,
    choose_network,
    default_network,
    network_class,
)
from skimb.networks.front import fit_table_columns

#: Small parameters for the networks whose defaults are large, so that building each is quick;
#: a network not named here is built with its defaults.
SMALL_PARAMETERS = {"mlp": {"hidden_units": (8,)}, "tabm": {"k": 2, "hidden_units": (8, 8)}}


def small(network):
    return dict(SMALL_PARAMETERS.get(network.name, {}))
N_FEATURES, N_OUTPUTS = 3, 2


def _rows(n=60):
    X = np.random.default_rng(0).normal(size=(n, N_FEATURES)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def _context(with_rows=True):
    X, y = _rows()
    return SimpleNamespace(n_features=N_FEATURES, front_X=X if with_rows else None,
                           front_y=y if with_rows else None)


def _raw_context():
    """A raw table's training rows: text, categories, datetimes, NaN."""
    frame, labels = raw_frame()
    columns = fit_table_columns(frame, {})
    X = columns.transform(frame)
    return SimpleNamespace(n_features=X.shape[1], front_X=X, columns=columns.layout_,
                           front_y=(labels == "ice").astype(np.int64))


def _same_weights(a, b):
    state_a, state_b = a.state_dict(), b.state_dict()
    assert list(state_a) == list(state_b)
    for key, value in state_a.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, state_b[key]), key
        else:
            assert value == state_b[key], key


@pytest.fixture(params=list_modules())
def network(request):
    return network_class(request.param)


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
    assert parameters["front"].default is None and parameters["columns"].default is None
    assert network.parameter_defaults() == {
        key: parameters[key].default for key in keyword_only
        if key not in ("X_train", "y_train", "columns", "front")}


def test_from_context_builds_each_network_on_the_context_rows(network):
    context = _context()
    built = network.from_context(context, N_OUTPUTS, **small(network))
    assert type(built) is network and built.front_fitted
    expected = SmoothClipScaler(N_FEATURES).fit(context.front_X)
    torch.testing.assert_close(built.scaler.center, expected.center)
    out = built(torch.from_numpy(context.front_X[:5]))
    # the ensemble declaration is what the output shape says
    assert out.shape == ((5, 2, N_OUTPUTS) if network.ensemble else (5, N_OUTPUTS))
    assert torch.isfinite(out).all()


def test_the_front_parameters_are_the_fronts_own(network, monkeypatch):
    taken = network.front_parameters()
    assert taken and set(taken) <= set(TableFront.PARAMETERS)
    assert set(TableFront.PARAMETERS) <= set(inspect.signature(TableFront).parameters)
    # the network's constructor hands every front parameter it takes to its front
    changed = {"scaling": None, "num_embeddings": "periodic", "d_embedding": 3, "n_bins": 5,
               "categorical_features": ["a"], "max_one_hot": 2, "d_cat_embedding": 5,
               "min_level_count": 7, "missing_fill": "learned", "datetime_trend": True}
    assert set(changed) == set(TableFront.PARAMETERS)
    seen = {}

    class Spy(TableFront):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.update(self.params)

    monkeypatch.setattr("skimb.networks._base.TableFront", Spy)
    given = {key: changed[key] for key in taken}
    network(N_FEATURES, N_OUTPUTS, **small(network), **given)
    assert {key: seen[key] for key in taken} == given


def test_the_two_halves_build_what_the_constructor_builds_on_the_rows(network):
    params = {**small(network), "missing_fill": "learned"}
    params.update({key: "ple" for key in ("num_embeddings",) if key in network.front_parameters()})
    context = _raw_context()
    front = network.fit_front(context, **params)
    assert isinstance(front, TableFront) and front.fitted
    torch.manual_seed(0)
    halves = network.from_front(front, N_OUTPUTS, **params)
    torch.manual_seed(0)
    direct = network(context.n_features, N_OUTPUTS, columns=context.columns,
                     X_train=context.front_X, y_train=context.front_y, **params)
    _same_weights(halves, direct)
    assert halves.discrete_columns == direct.discrete_columns == context.columns.categorical
    assert halves.front_fitted and direct.front_fitted


def test_fitting_the_front_draws_nothing_from_torch(network):
    params = small(network)
    params.update({key: value for key, value in (("num_embeddings", "ple"),)
                   if key in network.front_parameters()})
    before = torch.get_rng_state()
    network.fit_front(_raw_context(), **params)
    assert torch.equal(torch.get_rng_state(), before)


def test_a_network_on_a_restored_front_is_the_same_network(network):
    params = small(network)
    front = network.fit_front(_raw_context(), **params)
    restored = pickle.loads(pickle.dumps(front))
    torch.manual_seed(1)
    built = network.from_front(front, N_OUTPUTS, **params)
    torch.manual_seed(1)
    _same_weights(built, network.from_front(restored, N_OUTPUTS, **params))
    rows = torch.from_numpy(_raw_context().front_X[:6])
    out = built(rows)
    assert torch.isfinite(out).all()
    # the network holds copies: training it leaves the fitted front as it was
    for module in (built.columns, built.scaler):
        assert all(module is not part for part in front.children())


def test_from_front_refuses_a_front_fitted_with_other_parameters(network):
    front = network.fit_front(_context(), **small(network))
    with pytest.raises(ValueError, match="module__scaling=None, but the front was fitted "
                                         "with scaling='robust'"):
        network.from_front(front, N_OUTPUTS, **small(network), scaling=None)
    with pytest.raises(ValueError, match="is built on a TableFront"):
        network.from_front(None, N_OUTPUTS, **small(network))


def test_the_constructor_takes_a_fitted_front_or_rows_not_both(network):
    X, y = _rows()
    front = network.fit_front(_context(), **small(network))
    with pytest.raises(ValueError, match="not both"):
        network(N_FEATURES, N_OUTPUTS, front=front, X_train=X, y_train=y)
    with pytest.raises(ValueError, match="needs a front of that width"):
        network(N_FEATURES + 1, N_OUTPUTS, front=front)


def test_a_raw_table_is_taken_as_declared(network):
    assert RAW_COLUMNS in network.accepts  # every built-in network takes raw tables today
    context = _raw_context()
    built = network.from_context(context, N_OUTPUTS, **small(network),
                                 missing_fill="learned")
    out = built(torch.from_numpy(context.front_X[:7]))
    assert torch.isfinite(out).all()
    assert out.shape == ((7, 2, N_OUTPUTS) if network.ensemble else (7, N_OUTPUTS))
    assert isinstance(built.columns.fill, torch.nn.Parameter)


def test_a_cosine_head_is_what_the_declaration_says(network):
    params = {**small(network), "normalized_output": True}
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
    with pytest.raises(ValueError, match=re.escape(expected)):
        network.fit_front(_context(), zeta=1, bogus=2)
    front = network.fit_front(_context())
    with pytest.raises(ValueError, match=re.escape(expected)):
        network.from_front(front, N_OUTPUTS, zeta=1, bogus=2)


def test_a_front_parameter_the_network_lacks_is_refused(network):
    lacking = sorted(set(TableFront.PARAMETERS) - set(network.front_parameters()))
    for key in lacking:
        with pytest.raises(ValueError, match=f"takes no parameter module__{key};"):
            network.fit_front(_context(), **{key: TableFront.__init__.__kwdefaults__[key]})


def test_a_network_that_needs_rows_is_refused_without_them(network):
    assert network.needs_rows({})  # every built-in network scales robustly by default
    with pytest.raises(ValueError, match=f"module='{network.name}' fits its front on the training "
                                         "rows.*module__scaling=None"):
        network.from_context(_context(with_rows=False), N_OUTPUTS, **small(network))


def test_without_rows_a_network_that_fits_nothing_is_built(network):
    off = {key: None for key in ("scaling", "num_embeddings")
           if key in network.parameter_defaults()}
    assert not network.needs_rows(off)
    built = network.from_context(_context(with_rows=False), N_OUTPUTS,
                                 **small(network), **off)
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
                                         {"cosine_head": 1}, {"ensemble": "yes"}, {"name": 3},
                                         {"embeds": "some"}])
def test_a_wrong_declaration_is_refused_when_the_class_is_defined(declaration):
    with pytest.raises(TypeError, match="must be"):
        type("Wrong", (Network,), dict(declaration))


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_module_none_is_the_same_network_on_every_device(device):
    # issue 31: no benchmark has run on a GPU, so no device gets a network chosen on no evidence
    assert default_network(device) == default_network("cpu")
    assert choose_network(None, {}, device_type=device) == choose_network(None, {},
                                                                        device_type="cpu")


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_module_none_for_a_cosine_head_loss_is_the_default_with_its_cosine_head(device):
    name, network, params = choose_network(None, {}, device_type=device, cosine_head=True)
    assert network.cosine_head and params["normalized_output"] is True
    assert name == default_network(device)[0]
    assert set(params) <= set(network.parameter_defaults())


def test_a_network_that_takes_front_parameters_takes_the_front():
    with pytest.raises(TypeError, match="must take the fitted front"):
        class NoFront(Network):
            name = "no_front"

            def __init__(self, n_features, n_outputs, *, scaling="robust", X_train=None,
                         y_train=None):
                super().__init__()
