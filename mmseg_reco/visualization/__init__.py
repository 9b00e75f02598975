"""Analysis helpers: relation graphs, result tables, curves, pictures.

Plots are drawn with pyplot and written to files; the backend is the
caller's choice (the command lines, ``tools/analysis/*.py`` and
``benchmarks/accuracy.py``, select Agg: no display needed).
"""
from .curves import plot_curves, smooth
from .inference import (EMBEDDINGS, build_val_dataset, evaluated_model,
                        iter_batches, pixel_embeddings, valid_region)
from .predictions import colorize, plot_prediction_grid
from .region_matching import (USES, count_region_query_use,
                              region_query_use)
from .relation_graph import (accumulate_class_sums, class_means,
                             linkage_from_graph, plot_dendrogram,
                             plot_relation_graph, read_matrix_csv,
                             relation_graph, write_matrix_csv)
from .run_logs import (config_name, launch_dirs, load_scalars,
                       parse_class_tables, read_evaluation, split_records)
from .tables import (aggregate, aggregate_work_dirs, collect_results,
                     format_markdown, mean_and_half_range, method_of, read_csv,
                     write_csv)

__all__ = [
    'plot_curves', 'smooth', 'EMBEDDINGS', 'build_val_dataset',
    'evaluated_model', 'iter_batches', 'pixel_embeddings',
    'valid_region', 'colorize', 'plot_prediction_grid',
    'accumulate_class_sums', 'class_means', 'linkage_from_graph',
    'plot_dendrogram', 'plot_relation_graph', 'read_matrix_csv',
    'relation_graph', 'write_matrix_csv', 'config_name', 'launch_dirs',
    'load_scalars', 'parse_class_tables', 'read_evaluation', 'split_records',
    'aggregate', 'aggregate_work_dirs', 'collect_results', 'format_markdown',
    'mean_and_half_range', 'method_of', 'read_csv', 'write_csv', 'USES',
    'count_region_query_use', 'region_query_use'
]
