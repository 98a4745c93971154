"""User x item interaction matrices with shared label dictionaries, from tables.

:class:`Interactions` is what the recommenders read: one sparse
``users x items`` count matrix per *action* (purchase, view, cart add...),
all sharing one user dictionary, each with its own item dictionary. Build it
from a pandas or Dask DataFrame, or from CSV / Parquet files and directories.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from dlinalg.cluster import executor_for

from ._interaction_checks import (
    DEFAULT_ACTION,
    EmptyTableError,
    _check_columns,
    _check_label_types,
    _check_roles,
    _check_weights,
    _codes,
)
from ._interactions_dask import dask_matrices

__all__ = ["Interactions", "DEFAULT_ACTION"]


class Interactions:
    """Interaction counts per action, over one shared user dictionary.

    Build one with :meth:`from_dataframe`, :meth:`read_csv` or
    :meth:`read_parquet`. Users and items are kept as labels (pandas
    Indexes, sorted when the labels can be sorted); matrices hold counts
    (how many times a user did the action on the item, or the sum of a
    weight column).

    Attributes
    ----------
    users : pandas.Index
        The shared user dictionary: row ``u`` of every matrix is ``users[u]``.
        Its length is the N of the log-likelihood ratio.
    actions : list
        Action names, the primary (the one recommended) first.
    n_users : int
        ``len(users)``.

    See Also
    --------
    dlinalg.models.ItemSimilarity : Fits indicators from an Interactions.

    Examples
    --------
    >>> import pandas as pd
    >>> from dlinalg.models import Interactions
    >>> df = pd.DataFrame({"user": ["u1", "u1", "u2", "u2", "u1"],
    ...                    "action": ["buy", "view", "buy", "view", "view"],
    ...                    "item": ["ipad", "ipad", "nexus", "ipad", "nexus"]})
    >>> data = Interactions.from_dataframe(df, action="action", actions=["buy", "view"])
    >>> data
    <Interactions: 2 users; buy: 2 items, 2 interactions; view: 2 items, 3 interactions>
    >>> list(data.users), list(data.items("view"))
    (['u1', 'u2'], ['ipad', 'nexus'])
    >>> data.matrix("view").toarray()
    array([[1, 1],
           [1, 0]])
    """

    def __init__(
        self,
        users: pd.Index,
        matrices: dict[Hashable, sp.csr_array],
        items: dict[Hashable, pd.Index],
    ):
        self.users = pd.Index(users)
        self.actions = list(matrices)
        self._matrices = dict(matrices)
        self._items = {a: pd.Index(items[a]) for a in self.actions}
        for a in self.actions:
            shape = (len(self.users), len(self._items[a]))
            if self._matrices[a].shape != shape:
                raise ValueError(
                    f"the matrix of action {a!r} has shape {self._matrices[a].shape}, "
                    f"expected {shape} (users x items)"
                )

    # ------------------------------------------------------------------
    @classmethod
    def from_dataframe(
        cls,
        df: Any,
        user: Hashable = "user",
        item: Hashable = "item",
        action: Hashable | None = None,
        *,
        actions: Sequence[Hashable] | None = None,
        weight: Hashable | None = None,
    ) -> Interactions:
        """Build the dictionaries and one count matrix per action from a table.

        Parameters
        ----------
        df : pandas.DataFrame or dask.dataframe.DataFrame
            One row per interaction. On a distributed client, a Dask
            DataFrame is read on the workers (its columns persisted there,
            then two passes over the partitions): only the dictionaries and
            the summed count matrices come to this process. On the local
            schedulers it is computed here, which is faster.
        user, item : hashable, default "user", "item"
            Columns holding the user and item labels.
        action : hashable, optional
            Column whose values split the rows into actions (Mahout's filter
            column). Without it, every row is one action named
            :data:`DEFAULT_ACTION`.
        actions : sequence, optional
            Action values to keep, in order; the first is the primary
            action. Default: every value, in order of first appearance.
        weight : hashable, optional
            Column of counts: integers from 0 to 2**53 (integer-valued
            floats are accepted), adding up to at most 2**62; default 1 per
            row. Repeated (user, item) rows are summed; a weight of 0 is no
            interaction (the labels still enter the dictionaries).

        Returns
        -------
        Interactions

        Raises
        ------
        ValueError
            If a column is missing (the message lists the columns present),
            the table or a selected action is empty, ``actions`` repeats a
            value or names one that matches no rows, or labels are missing;
            :class:`~dlinalg.errors.ParameterError` if one column is given
            two roles (``user="id", item="id"``); :class:`~dlinalg.errors.LabelError`
            if the table has two columns of a role's name;
            :class:`~dlinalg.errors.NonFiniteError` if a weight is missing,
            NaN or infinite; :class:`~dlinalg.errors.ParameterError` if a
            weight is negative, fractional or above 2**53 (the message names
            the value and its row), the weights add up to more than 2**62, or
            the weight column is not numeric.
        TypeError
            If ``df`` is not a DataFrame or ``actions`` is a str (pass a
            list); :class:`~dlinalg.errors.DTypeError` if labels are
            unhashable (lists), or if a user, item or action column mixes
            label types that can be
            confused (``1`` and ``"1"`` would silently be two users, ``True``
            and ``1`` one): convert it to one type first. Labels of different
            types that cannot be confused (``1`` and ``"s3"``) are kept, in
            order of first appearance.

        Notes
        -----
        Weights follow Mahout's and implicit's reading of interactions as
        counts (implicit's confidence is ``1 + alpha * count``), kept exact:
        nothing is rounded, clipped or wrapped around, so any value that is
        not a count is refused rather than stored as a different number.

        Examples
        --------
        >>> import pandas as pd
        >>> from dlinalg.models import Interactions
        >>> df = pd.DataFrame({"u": [1, 1, 2], "i": ["a", "b", "a"], "n": [2, 1, 5]})
        >>> data = Interactions.from_dataframe(df, user="u", item="i", weight="n")
        >>> data.actions, data.n_users
        (['interaction'], 2)
        >>> data["interaction"].toarray()
        array([[2, 1],
               [5, 0]])
        """
        wanted = {"user": user, "item": item, "action": action, "weight": weight}
        _check_roles(wanted, actions)
        if actions is not None and action is None:
            raise ValueError("actions= selects values of an action column: pass action= too")
        if _is_dask_dataframe(df):
            _check_columns(df.columns, wanted)
            if executor_for([df]).client is not None:  # build on the workers
                return cls(*dask_matrices(df, wanted, actions, _select_actions))
            df = df[list(dict.fromkeys(c for c in wanted.values() if c is not None))].compute()
        table = _collect(df, wanted)
        if len(table) == 0:
            raise EmptyTableError
        for role, col in (("user", user), ("item", item), ("action", action)):
            if col is not None and table[col].isna().any():
                raise ValueError(
                    f"the {role} column {col!r} holds missing values; drop them first"
                )
            if col is not None:
                _check_label_types(table[col], role, col)
        if action is None:
            groups = {DEFAULT_ACTION: np.ones(len(table), dtype=bool)}
        else:
            groups = _split_actions(table[action], actions, action)
        keep = np.logical_or.reduce(list(groups.values()))
        table = table[keep]
        counts = (
            _check_weights(table[weight], weight)
            if weight is not None
            else np.ones(len(table), dtype=np.int64)
        )
        ucodes, users = _codes(table[user])
        matrices, items = {}, {}
        for name, mask in groups.items():
            mask = mask[keep]
            icodes, labels = _codes(table[item][mask])
            m = sp.csr_array(
                (counts[mask], (ucodes[mask], icodes)), shape=(len(users), len(labels))
            )
            m.sum_duplicates()
            m.eliminate_zeros()  # a weight of 0 is no interaction
            matrices[name], items[name] = m, labels
        return cls(users, matrices, items)

    @classmethod
    def read_csv(
        cls,
        path: str | os.PathLike | Sequence[str | os.PathLike],
        *,
        user: Hashable,
        item: Hashable,
        action: Hashable | None = None,
        actions: Sequence[Hashable] | None = None,
        weight: Hashable | None = None,
        sep: str = ",",
        header: int | str | None = "infer",
        storage_options: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Interactions:
        """Read interactions from CSV/TSV files or directories of them.

        Parameters
        ----------
        path : str, os.PathLike or a list of them
            Files, or directories whose regular files (not starting with
            ``.`` or ``_``, like Spark's ``_SUCCESS``) are all read; local
            or fsspec URLs (``"s3://bucket/logs/"``).
        user, item, action, actions, weight
            As in :meth:`from_dataframe`. With ``header=None`` columns are
            named by position (``user=0, item=2, action=1`` for Mahout's
            ``user,action,item`` lines).
        sep : str, default ","
            Field delimiter (``"\\t"`` for TSV).
        header : int, None or "infer", default "infer"
            As in :func:`pandas.read_csv`.
        storage_options : dict, optional
            Options of the fsspec filesystem of URL paths (credentials,
            ``client_kwargs={"endpoint_url": ...}``), as in
            :func:`dask.dataframe.read_csv`.
        **kw
            Passed to :func:`dask.dataframe.read_csv`. Label columns are read
            as strings unless ``dtype`` says otherwise.

        Returns
        -------
        Interactions

        Raises
        ------
        FileNotFoundError
            If a path does not exist or a directory holds no data file.

        Examples
        --------
        >>> import os, tempfile
        >>> from dlinalg.models import Interactions
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "log.csv")
        ...     with open(path, "w") as f:
        ...         _ = f.write("u1,purchase,iphone\\nu1,purchase,ipad\\nu2,view,iphone\\n")
        ...     data = Interactions.read_csv(path, user=0, action=1, item=2, header=None)
        >>> data
        <Interactions: 2 users; purchase: 2 items, 2 interactions; view: 1 items, 1 interactions>
        """
        import dask.dataframe as dd

        files = _files(path, storage_options)
        labels = [c for c in (user, item, action) if c is not None]
        dtype = kw.pop("dtype", dict.fromkeys(labels, str))
        if storage_options:
            kw["storage_options"] = storage_options
        df = dd.read_csv(files, sep=sep, header=header, dtype=dtype, **kw)
        return cls.from_dataframe(df, user, item, action, actions=actions, weight=weight)

    @classmethod
    def read_parquet(
        cls,
        path: str | os.PathLike | Sequence[str | os.PathLike],
        *,
        user: Hashable = "user",
        item: Hashable = "item",
        action: Hashable | None = None,
        actions: Sequence[Hashable] | None = None,
        weight: Hashable | None = None,
        storage_options: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Interactions:
        """Read interactions from Parquet files or directories (a Parquet dataset).

        Parameters
        ----------
        path : str, os.PathLike or a list of them
            Files or dataset directories, local or fsspec URLs.
        user, item, action, actions, weight
            As in :meth:`from_dataframe`.
        storage_options : dict, optional
            Options of the fsspec filesystem of URL paths, as in
            :func:`dask.dataframe.read_parquet`.
        **kw
            Passed to :func:`dask.dataframe.read_parquet`.

        Returns
        -------
        Interactions

        Raises
        ------
        FileNotFoundError
            If a path does not exist.

        Examples
        --------
        >>> import os, tempfile, pandas as pd
        >>> from dlinalg.models import Interactions
        >>> df = pd.DataFrame({"user": ["a", "b", "b"], "item": ["x", "x", "y"]})
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     df.to_parquet(os.path.join(tmp, "part.0.parquet"))
        ...     data = Interactions.read_parquet(tmp)
        >>> data.matrix(0).toarray()
        array([[1, 0],
               [1, 1]])
        """
        import dask.dataframe as dd

        paths = [path] if isinstance(path, str | os.PathLike) else list(path)
        for p in paths:
            if _is_url(p):
                import fsspec

                fs, root = fsspec.core.url_to_fs(str(p), **(storage_options or {}))
                exists = fs.exists(root)
            else:
                exists = Path(p).exists()
            if not exists:
                raise FileNotFoundError(f"no such file or directory: {str(p)!r}")
        if storage_options:
            kw["storage_options"] = storage_options
        df = dd.read_parquet([os.fspath(p) for p in paths] if len(paths) > 1 else paths[0], **kw)
        return cls.from_dataframe(df, user, item, action, actions=actions, weight=weight)

    # ------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        """Number of users in the shared dictionary (N of the LLR).

        Examples
        --------
        >>> import pandas as pd
        >>> from dlinalg.models import Interactions
        >>> df = pd.DataFrame({"user": ["a", "b", "b"], "item": ["x", "x", "y"]})
        >>> Interactions.from_dataframe(df).n_users
        2
        """
        return len(self.users)

    def _action(self, action: Hashable | int) -> Hashable:
        if action in self._matrices:
            return action
        if (
            isinstance(action, int | np.integer)
            and not isinstance(action, bool)
            and -len(self.actions) <= action < len(self.actions)
        ):
            return self.actions[action]
        raise KeyError(f"no action {action!r}; the actions are {self.actions}")

    def items(self, action: Hashable | int = 0) -> pd.Index:
        """The item dictionary of an action (a name, or its position in :attr:`actions`).

        Raises
        ------
        KeyError
            If there is no such action.

        Examples
        --------
        >>> import pandas as pd
        >>> from dlinalg.models import Interactions
        >>> df = pd.DataFrame({"user": [1, 1, 2], "item": ["y", "x", "x"],
        ...                    "act": ["buy", "view", "view"]})
        >>> data = Interactions.from_dataframe(df, action="act")
        >>> list(data.items("view")), list(data.items(0))
        (['x'], ['y'])
        """
        return self._items[self._action(action)]

    def matrix(self, action: Hashable | int = 0) -> sp.csr_array:
        """The ``n_users x n_items`` count matrix of an action (a name or position).

        ``data[action]`` is the same.

        Raises
        ------
        KeyError
            If there is no such action.

        Examples
        --------
        >>> import pandas as pd
        >>> from dlinalg.models import Interactions
        >>> df = pd.DataFrame({"user": [1, 1, 2], "item": ["y", "y", "x"]})
        >>> data = Interactions.from_dataframe(df)
        >>> data.matrix().toarray(), (data["interaction"] != data.matrix()).nnz
        (array([[0, 2],
               [1, 0]]), 0)
        """
        return self._matrices[self._action(action)]

    def __getitem__(self, action: Hashable | int) -> sp.csr_array:
        return self.matrix(action)

    def encode_history(
        self, items: Iterable[Hashable], action: Hashable | int = 0
    ) -> tuple[np.ndarray, int]:
        """Item labels of one action -> sorted unique column indices, and how many were unknown.

        Parameters
        ----------
        items : iterable of labels
            A user's items in that action.
        action : hashable or int, default 0
            The action (name or position).

        Returns
        -------
        indices : ndarray of int64
            Sorted unique indices of the known labels.
        n_unknown : int
            Labels not in the action's dictionary (ignored, never an error).

        Examples
        --------
        >>> import pandas as pd
        >>> from dlinalg.models import Interactions
        >>> data = Interactions.from_dataframe(pd.DataFrame({"user": [1, 2], "item": ["a", "b"]}))
        >>> data.encode_history(["b", "zz", "a", "b"])
        (array([0, 1]), 1)
        """
        return encode_labels(self.items(action), items)

    def __repr__(self) -> str:
        parts = [
            f"{a}: {len(self._items[a])} items, {int(self._matrices[a].sum())} interactions"
            for a in self.actions
        ]
        return f"<Interactions: {self.n_users} users; {'; '.join(parts)}>"


def encode_labels(index: pd.Index, labels: Iterable[Hashable]) -> tuple[np.ndarray, int]:
    """Sorted unique positions of ``labels`` in ``index``, and the count of unknown ones."""
    if isinstance(labels, str | bytes) or not isinstance(labels, Iterable):
        labels = [labels]
    values = list(labels)
    if not values:
        return np.zeros(0, dtype=np.int64), 0
    pos = index.get_indexer(pd.Index(values, dtype=object if index.dtype == object else None))
    return np.unique(pos[pos >= 0]).astype(np.int64), int((pos < 0).sum())


def _is_dask_dataframe(df: Any) -> bool:
    # A Dask DataFrame exists only once dask.dataframe is imported: checking
    # sys.modules first keeps a pandas caller (the command line on a small log)
    # from paying that import, 0.27 s.
    dd = sys.modules.get("dask.dataframe")
    return dd is not None and isinstance(df, dd.DataFrame)


def _collect(df: Any, wanted: dict[str, Hashable | None]) -> pd.DataFrame:
    """The needed columns of a pandas DataFrame (missing ones named)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas or Dask DataFrame, got {type(df).__name__}")
    _check_columns(df.columns, wanted)
    return df[list(dict.fromkeys(c for c in wanted.values() if c is not None))]


def _select_actions(present: list, actions: Sequence[Hashable] | None, col: Hashable) -> list:
    """The selected actions: ``actions`` checked against the values ``present``, or all of them."""
    if actions is None:
        return present
    actions = list(actions)
    if not actions:
        raise ValueError("actions= is empty; name at least the primary action")
    if len(set(actions)) != len(actions):
        raise ValueError(f"actions= repeats a value: {actions}")
    missing = [a for a in actions if a not in present]
    if missing:
        raise ValueError(
            f"no rows have {col!r} equal to {missing[0]!r}; the values present are "
            f"{sorted(map(str, present))}"
        )
    return actions


def _split_actions(
    values: pd.Series, actions: Sequence[Hashable] | None, col: Hashable
) -> dict[Hashable, np.ndarray]:
    v = values.to_numpy()
    return {a: v == a for a in _select_actions(list(pd.unique(values)), actions, col)}


def _files(path: Any, storage_options: dict[str, Any] | None = None) -> list[str]:
    """Data files under ``path`` (a file, a directory, an fsspec URL, or a list of them)."""
    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    out: list[str] = []
    for p in paths:
        if _is_url(p):
            out.extend(_url_files(str(p), storage_options or {}))
            continue
        p = Path(p)
        if p.is_file():
            out.append(str(p))
        elif p.is_dir():
            found = sorted(
                str(f)
                for f in p.rglob("*")
                if f.is_file()
                and not any(part.startswith((".", "_")) for part in f.relative_to(p).parts)
            )
            if not found:
                raise FileNotFoundError(f"the directory {str(p)!r} holds no data files")
            out.extend(found)
        else:
            raise FileNotFoundError(f"no such file or directory: {str(p)!r}")
    if not out:
        raise FileNotFoundError("no input path given")
    return out


def _is_url(path: Any) -> bool:
    return isinstance(path, str) and "://" in path


def _url_files(url: str, storage_options: dict[str, Any]) -> list[str]:
    """The data files of an object (or a prefix of objects) at an fsspec URL, as URLs."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(url, **storage_options)
    if fs.isfile(root):
        return [url]
    if not fs.isdir(root):
        raise FileNotFoundError(f"no such file or directory: {url!r}")
    base = root.rstrip("/")
    found = sorted(
        f
        for f in fs.find(root)
        if not any(part.startswith((".", "_")) for part in f[len(base) :].strip("/").split("/"))
    )
    if not found:
        raise FileNotFoundError(f"the directory {url!r} holds no data files")
    return [fs.unstrip_protocol(f) for f in found]
