"""Pure analysis of the paper's Sec. 3.4 and 3.5: RRC, concept lattices and nMI (their figures: repro.figures).

- :mod:`repro.analysis.rrc`: ``rrc(grid, row_acc, col_acc)``, RRC(A_i∘j) = acc(A_i∘j) / min(acc(i), acc(j)).
- :mod:`repro.analysis.lattice`: formal contexts at a threshold t, concept lattices, stable t intervals.
- :mod:`repro.analysis.nmi`: batched normalized mutual information between images (torch).

Import from the submodules (``from repro.analysis.nmi import nmi``). Nothing is re-exported here: the
functions ``rrc`` and ``nmi`` share their modules' names, and re-exporting them would make
``repro.analysis.rrc`` mean the function or the module depending on import order; importing this
package also loads neither torch nor matplotlib.
"""
