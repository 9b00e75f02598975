"""Reading runs and aggregating them: known numbers give known tables."""
import csv
import math
import os
import os.path as osp

import pytest
from prettytable import PrettyTable

from mmseg_reco.visualization import (aggregate, collect_results,
                                      format_markdown, load_scalars,
                                      mean_and_half_range, method_of,
                                      parse_class_tables, read_csv,
                                      read_evaluation, write_csv)

CLASSES = ('background', 'T-shirt/top', 'Trouser')


def per_class(values):
    return {f'IoU.{name}': v for name, v in zip(CLASSES, values)}


def test_mean_and_half_range():
    assert mean_and_half_range([40.0, 44.0, 42.0]) == (42.0, 2.0, 3)
    mean, half, num = mean_and_half_range([10.0, float('nan'), 20.0])
    assert (mean, half, num) == (15.0, 5.0, 2)
    mean, half, num = mean_and_half_range([float('nan')])
    assert math.isnan(mean) and num == 0


def test_known_numbers_give_known_table(tmp_path, write_run):
    dirs = []
    for seed, (miou, ious) in enumerate([(40.0, (90, 10, 20)),
                                         (44.0, (94, 14, 30)),
                                         (42.0, (92, 12, 40))]):
        dirs.append(write_run(str(tmp_path / f'a_seed{seed}'), [
            dict(step=50, mIoU=1.0, **per_class((1, 1, 1))),
            dict(step=100, mIoU=miou, **per_class(ious))
        ], config='method_a'))
    for seed, miou in enumerate([30.0, 31.0]):
        dirs.append(write_run(str(tmp_path / f'b_seed{seed}'), [
            dict(step=100, mIoU=miou, **per_class((80, 5, 6)))
        ], config='method_b'))
    methods = collect_results(dirs)
    assert list(methods) == ['method_a', 'method_b']
    table = aggregate(methods)
    row = table['method_a']
    assert row['mIoU'] == (42.0, 2.0, 3)
    assert row['background'] == (92.0, 2.0, 3)
    assert row['Trouser'] == (30.0, 10.0, 3)
    assert table['method_b']['mIoU'] == (30.5, 0.5, 2)
    assert list(row)[:3] == list(CLASSES)  # classes, then mIoU, then runs
    text = format_markdown(table)
    lines = text.splitlines()
    assert lines[0] == ('| Method | background | T-shirt/top | Trouser | '
                        'mIoU | runs |')
    assert lines[2].startswith('| method_a | 92.0 ± 2.0 | 12.0 ± 2.0 | '
                               '30.0 ± 10.0 | 42.0 ± 2.0 | 3 |')
    path = str(tmp_path / 'table.csv')
    write_csv(table, path)
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ['method', 'background', 'background_range']
    assert rows[1][-3:] == ['42.00', '2.00', '3']
    assert read_csv(path)['method_b']['mIoU'] == (30.5, 0.5, 2)


def test_best_evaluation(tmp_path, write_run):
    run = write_run(str(tmp_path / 'r'), [
        dict(step=50, mIoU=45.0), dict(step=100, mIoU=41.0)])
    assert read_evaluation(run)['mIoU'] == 41.0
    best = read_evaluation(run, select='best')
    assert best['mIoU'] == 45.0 and best['step'] == 50


def test_no_evaluation_is_skipped(tmp_path, write_run, capsys):
    run = write_run(str(tmp_path / 'r'), [])
    assert read_evaluation(run) is None
    assert collect_results([run]) == {}
    assert 'no evaluation' in capsys.readouterr().out


def mmseg_table(values):
    """The per-class table text that mmseg's IoUMetric logs."""
    table = PrettyTable()
    table.add_column('Class', list(values))
    table.add_column('IoU', [v[0] for v in values.values()])
    table.add_column('Acc', [v[1] for v in values.values()])
    return table.get_string()


def write_log(run, tables, timestamp='20240101_000000'):
    lines = ['2024/01/01 00:00:00 - mmengine - INFO - Iter(train) [10/100]']
    for values in tables:
        lines.append('2024/01/01 00:00:01 - mmengine - INFO - per class '
                     'results:')
        lines.append('2024/01/01 00:00:01 - mmengine - INFO - ')
        lines.extend(mmseg_table(values).splitlines())
        lines.append('2024/01/01 00:00:01 - mmengine - INFO - Iter(val) '
                     '[2/2]    aAcc: 90.0000  mIoU: 40.0000')
    path = osp.join(run, timestamp, f'{timestamp}.log')
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def test_per_class_table_parsed_from_log(tmp_path, write_run):
    """Runs evaluated by mmseg's IoUMetric: the table comes from the log."""
    first = {'background': (1.0, 2.0), 'T-shirt/top': (3.0, 4.0),
             'Ankle boot': (5.5, 6.0)}
    nan = float('nan')
    last = {'background': (97.61, 98.9), 'T-shirt/top': (nan, nan),
            'Ankle boot': (12.25, 20.0)}
    run = write_run(str(tmp_path / 'r'), [dict(step=50, mIoU=3.0),
                                          dict(step=100, mIoU=40.0)])
    log = write_log(run, [first, last])
    tables = parse_class_tables(log)
    assert len(tables) == 2
    assert tables[0]['Ankle boot'] == {'IoU': 5.5, 'Acc': 6.0}
    result = read_evaluation(run)
    assert result['classes']['background'] == 97.61
    assert result['classes']['Ankle boot'] == 12.25
    assert math.isnan(result['classes']['T-shirt/top'])
    assert read_evaluation(run, select='best')['classes']['background'] == (
        97.61)


def test_cut_table_is_dropped(tmp_path, write_run):
    run = write_run(str(tmp_path / 'r'), [dict(step=100, mIoU=40.0)])
    log = write_log(run, [{'background': (1.0, 2.0)}])
    with open(log) as f:
        text = f.read()
    with open(log, 'w') as f:  # an interrupted run: the table is cut
        f.write(text[:text.index('| background')])
    assert parse_class_tables(log) == []
    assert read_evaluation(run)['classes'] == {}


def test_resumed_run_merges_launches(tmp_path, write_run):
    run = str(tmp_path / 'r')
    write_run(run, [dict(step=50, mIoU=10.0)], train_steps=(10, 20, 30),
              timestamp='20240101_000000')
    # the resume repeats step 30 and goes on
    write_run(run, [dict(step=100, mIoU=20.0)], train_steps=(30, 40),
              timestamp='20240102_000000', losses=[7.0, 8.0])
    records = load_scalars(run)
    train = [r for r in records if 'loss' in r]
    assert [r['step'] for r in train] == [10, 20, 30, 40]
    assert train[2]['loss'] == 7.0
    assert read_evaluation(run)['mIoU'] == 20.0


def test_method_of(tmp_path, write_run):
    with_config = write_run(str(tmp_path / 'x_seed3'), [], config='cfg_name')
    assert method_of(with_config) == 'cfg_name'
    plain = write_run(str(tmp_path / 'classmix_seed2'), [], config=None)
    assert method_of(plain) == 'classmix'
    nested = write_run(str(tmp_path / 'reco' / 'seed1'), [], config=None)
    assert method_of(nested) == 'reco'
    assert method_of(nested, group=r'/(\w+)/seed\d+$') == 'reco'
    with pytest.raises(ValueError, match='does not match'):
        method_of(nested, group='nothing-like-this')


def test_aggregate_main(tools, tmp_path, write_run, capsys):
    dirs = [
        write_run(str(tmp_path / 'sup' / f'seed{s}'), [
            dict(step=100, mIoU=20.0 + s, **per_class((90, 10 + s, 0)))
        ], config='same_config') for s in range(3)
    ] + [
        write_run(str(tmp_path / 'reco' / f'seed{s}'), [
            dict(step=100, mIoU=30.0 + 2 * s, **per_class((95, 20, 2 * s)))
        ], config='same_config') for s in range(3)
    ]
    out = str(tmp_path / 'table.csv')
    table = tools['aggregate'].main(
        dirs + ['--group', r'/(\w+)/seed\d+$', '--out', out])
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert ('| sup | 90.0 ± 0.0 | 11.0 ± 1.0 | 0.0 ± 0.0 | 21.0 ± 1.0 | 3 |'
            in lines)
    assert ('| reco | 95.0 ± 0.0 | 20.0 ± 0.0 | 2.0 ± 2.0 | 32.0 ± 2.0 | 3 |'
            in lines)
    assert osp.getsize(out) > 0
    assert table['reco']['mIoU'] == (32.0, 2.0, 3)
