"""benchmarks/accuracy.py: the overrides it applies to each run's config,
and its summary tables (benchmarks/accuracy_tables.py)."""
import itertools
import os
import os.path as osp

import pytest

from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: benchmarks/accuracy_tables.py, the module accuracy.py imports
tables = load_script('benchmarks/accuracy_tables.py', 'accuracy_tables')
room_lines, summarise_runs = tables.room_lines, tables.summarise_runs
summary_markdown, target_lines = tables.summary_markdown, tables.target_lines
teacher_flags = tables.teacher_flags


@pytest.fixture(scope='module')
def bench():
    return load_script('benchmarks/accuracy.py')


def test_defaults(bench):
    args = bench.parse_args([])
    assert args.methods == ['supervised', 'classmix', 'reco', 'cmb',
                            'supervised-full']
    assert args.seeds == [0, 1, 2]
    assert args.labelled == 10
    assert args.iters == bench.SETTINGS['default']['iters']
    full = bench.parse_args(['--full', '--device', 'cuda'])
    assert full.iters == bench.SETTINGS['full']['iters'] > args.iters
    every = bench.parse_args(['--methods', 'all'])
    assert set(args.methods) <= set(every.methods)
    assert all(osp.isfile(osp.join(REPO, bench.METHODS[m][1]))
               for m in every.methods)
    with pytest.raises(SystemExit):
        bench.parse_args(['--methods', 'no-such-method'])


@pytest.mark.parametrize(
    'method', ['supervised', 'reco', 'cmb', 'rc2l', 'supervised-full',
               'supervised-region-full', 'classmix-joint', 'classmix-oracle'])
def test_run_config(bench, method, tmp_path):
    config = bench.METHODS[method][1]
    if not osp.isfile(osp.join(REPO, config)):
        pytest.skip(f'{config} missing')
    args = bench.parse_args(['--iters', '100', '--evals', '4',
                             '--val-images', '5'])
    cfg = bench.run_config(config, str(tmp_path), 3, args, method)
    assert cfg.train_cfg.max_iters == 100
    assert cfg.train_cfg.val_interval == 25
    assert cfg.randomness.seed == 3
    assert all(s['end'] == 100 for s in bench._schedulers(
        cfg.param_scheduler) if 'end' in s)
    labelled, unlabelled = cfg.train_dataloader.dataset.datasets
    assert labelled.ann_file == ('splits/train.txt'
                                 if method.endswith('-full') else
                                 'splits/labelled-10.txt')
    assert unlabelled['ann_file'] == 'splits/unlabelled-10.txt'
    if method == 'classmix-oracle':  # the unlabelled canvases keep labels
        assert [t['type'] for t in unlabelled['pipeline']][-2:] == [
            'MarkUnlabelled', 'PackSegInputs']
    hooks = {h['type']: h for h in cfg.get('custom_hooks', [])}
    if method.startswith('supervised'):
        assert cfg.val_evaluator.type == 'PerClassIoUMetric'
        assert 'PseudoLabelQualityHook' not in hooks
    else:
        # the evaluated model, the teacher and the student
        assert [m.get('pred_key', 'pred_sem_seg')
                for m in cfg.val_evaluator] == [
                    'pred_sem_seg', 'teacher_pred_sem_seg',
                    'student_pred_sem_seg']
        assert [m.get('prefix') for m in cfg.val_evaluator] == [
            None, 'teacher', 'student']
        assert cfg.model.semi_test_cfg.predict_both
        hook = hooks['PseudoLabelQualityHook']
        assert hook['dataset']['ann_file'] == 'splits/unlabelled-10.txt'
        assert hook['dataset']['data_prefix']['seg_map_path'] == \
            'ann_dir/train'
        sampler = cfg.train_dataloader.sampler
        assert hook['batch_size'] == sampler.batch_size - sampler.num_labelled
        assert hook['num_images'] == 200
    if method == 'classmix-joint':
        assert cfg.model.semi_train_cfg.student_forward == 'joint'
    assert 'mmseg_reco.evaluation' in cfg.custom_imports.imports
    assert cfg.val_dataloader.dataset.indices == 5
    init = cfg.model.segmentor.backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    assert cfg.default_hooks.checkpoint.interval == 100
    if method == 'cmb':
        # warm-up scaled with the schedule: 400 of 2000 -> 20 of 100
        assert cfg.model.method_losses[0].warmup_iters == 20
    # the written config is what tools/train.py runs
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    assert osp.getsize(path) > 0


def test_benchmark_protocol_batches(bench, tmp_path):
    args = bench.parse_args(['--iters', '100'])
    batches = {}
    for method in ('supervised', 'classmix', 'reco', 'cmb', 'supervised-full'):
        cfg = bench.run_config(bench.METHODS[method][1], str(tmp_path), 0,
                               args, method)
        sampler = cfg.train_dataloader.sampler
        batches[method] = (sampler.batch_size, sampler.num_labelled,
                           cfg.val_dataloader.batch_size)
        assert cfg.model.segmentor.backbone.base_channels == 32
        assert cfg.model.segmentor.backbone.strides == (1, 2, 2, 1)
    # the Supervised baseline doubles its labelled batch
    assert batches == {
        'supervised': (16, 16, 16), 'classmix': (16, 8, 16),
        'reco': (16, 8, 16), 'cmb': (16, 8, 16),
        'supervised-full': (16, 16, 16)}


def test_supervised_oracle_takes_the_semi_supervised_batch(bench, tmp_path):
    args = bench.parse_args(['--iters', '100'])
    cfg = bench.run_config(bench.METHODS['supervised-oracle'][1],
                           str(tmp_path), 0, args, 'supervised-oracle')
    loader = cfg.train_dataloader
    # 8 of the labelled split and 8 unlabelled canvases with their labels
    assert loader.batch_size == loader.sampler.batch_size == 16
    assert loader.sampler.num_labelled == 8
    labelled, unlabelled = loader.dataset.datasets
    assert labelled.ann_file == 'splits/labelled-10.txt'
    assert unlabelled['ann_file'] == 'splits/unlabelled-10.txt'
    assert unlabelled['pipeline'] == labelled.pipeline


def test_oracle_run_config(bench, tmp_path):
    args = bench.parse_args(['--iters', '100'])
    cfg = bench.run_config(bench.METHODS['supervised-region-oracle'][1],
                           str(tmp_path), 0, args, 'supervised-region-oracle')
    loader = cfg.train_dataloader
    assert loader.batch_size == loader.sampler.batch_size == 16
    assert loader.sampler.num_labelled == 8
    labelled, unlabelled = loader.dataset.datasets
    # the unlabelled split, loaded like the labelled images, labels included
    assert unlabelled['ann_file'] == 'splits/unlabelled-10.txt'
    assert labelled.ann_file == 'splits/labelled-10.txt'
    assert unlabelled['type'] == labelled.type
    assert unlabelled['pipeline'] == labelled.pipeline
    assert 'LoadAnnotations' in [t['type'] for t in unlabelled['pipeline']]


#: the tests that build the demo's datasets
needs_demo_split = pytest.mark.needs_data(
    osp.join(REPO, 'data', 'fashion_canvas', 'splits', 'unlabelled-10.txt'),
    reason='run tools/prepare_demo.py and tools/make_splits.py')


def _demo_run_config(bench, tmp_path, monkeypatch, method):
    """A method's run config, built from the repository root in mmseg's
    scope (its datasets build from the demo data)."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    monkeypatch.chdir(REPO)
    args = bench.parse_args(['--iters', '100'])
    return bench.run_config(bench.METHODS[method][1], str(tmp_path), 0, args,
                            method)


@needs_demo_split
def test_oracle_batches_hold_labelled_images_of_both_splits(
        bench, tmp_path, monkeypatch):
    from mmseg.registry import DATA_SAMPLERS, DATASETS
    cfg = _demo_run_config(bench, tmp_path, monkeypatch,
                           'supervised-region-oracle')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    sampler = DATA_SAMPLERS.build(
        dict(cfg.train_dataloader.sampler, dataset=dataset, seed=0))
    indices = list(itertools.islice(iter(sampler), 32))
    names = {}
    for split in ('labelled-10', 'unlabelled-10'):
        with open(osp.join(REPO, 'data', 'fashion_canvas', 'splits',
                           f'{split}.txt')) as f:
            names[split] = {line.strip() for line in f if line.strip()}
    boundary = len(dataset.datasets[0])
    for batch in (indices[:16], indices[16:]):
        # 8 labelled canvases, then 8 of the unlabelled split
        assert [i < boundary for i in batch] == [True] * 8 + [False] * 8
        for i in batch:
            sample = dataset[i]['data_samples']
            name = osp.splitext(osp.basename(sample.img_path))[0]
            split = 'labelled-10' if i < boundary else 'unlabelled-10'
            assert name in names[split]
            labels = sample.gt_sem_seg.data
            assert labels.shape[-2:] == (64, 64)
            assert ((labels > 0) & (labels < 11)).any()  # an object


@needs_demo_split
def test_rc2l_oracle_unlabelled_canvases_carry_their_labels(
        bench, tmp_path, monkeypatch):
    from mmseg.registry import DATASETS
    cfg = _demo_run_config(bench, tmp_path, monkeypatch, 'rc2l-oracle')
    assert cfg.model.method_losses[0].regions_from == 'pixel_labels'
    loader = cfg.train_dataloader
    assert loader.sampler.batch_size == 16 and loader.sampler.num_labelled == 8
    dataset = DATASETS.build(loader.dataset)
    labelled, unlabelled = dataset.datasets
    with open(osp.join(REPO, 'data', 'fashion_canvas', 'splits',
                       'unlabelled-10.txt')) as f:
        names = [line.strip() for line in f if line.strip()]
    assert len(unlabelled) == len(names)
    for i in range(3):
        sample = unlabelled[i]['data_samples']
        assert osp.splitext(osp.basename(sample.img_path))[0] == names[i]
        # unlabelled for the step (the weak view), with its true labels
        assert sample.metainfo['unlabelled'] is True
        labels = sample.gt_sem_seg.data
        assert labels.shape[-2:] == (64, 64)
        assert ((labels > 0) & (labels < 11)).any()
    assert 'unlabelled' not in labelled[0]['data_samples'].metainfo


@needs_demo_split
def test_classmix_oracle_pseudo_labels_are_the_true_labels_after_mixing(
        bench, tmp_path, monkeypatch):
    """The oracle's unlabelled canvases carry their labels through the
    real dataset, sampler and SemiSegmentor: the pseudo-labels of the
    strong view equal the true labels mixed by the same ClassMix."""
    import torch
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS, MODELS
    cfg = _demo_run_config(bench, tmp_path, monkeypatch, 'classmix-oracle')
    cfg.model.segmentor.backbone.init_cfg = None
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    labelled, unlabelled = dataset.datasets
    num_l = cfg.train_dataloader.sampler.num_labelled
    batch = pseudo_collate([labelled[i] for i in range(num_l)] +
                           [unlabelled[i] for i in range(num_l)])
    model = MODELS.build(cfg.model)
    data = model.data_preprocessor(batch, True)
    inputs, samples = data['inputs'], data['data_samples']
    sup_in, sup_s, unsup_in, unsup_s = model.split_batch(inputs, samples)
    truth = torch.stack([s.gt_sem_seg.data[0] for s in unsup_s]).long()
    weak = model.weak_pass(sup_in, unsup_in, unsup_s)
    pseudo, conf = weak.labels, weak.confidence
    assert torch.equal(pseudo, truth)  # every pixel of a canvas is known
    assert bool((conf == 1).all())
    from mmseg_reco.models.augmentation.transform_record import \
        project_target
    strong = model.strong_view(sup_in, sup_s, weak)
    # the true labels mapped through the strong view's recorded crop, mix
    # and flip
    unsup_labels = strong.labels[strong.num_labelled:]
    assert torch.equal(unsup_labels,
                       project_target(strong.transform, truth, 255))
    # ClassMix pasted classes of other canvases: the mixed labels differ
    # from the canvases' own, and hold only true classes or ignore
    assert not torch.equal(unsup_labels, truth)
    assert set(unsup_labels.unique().tolist()) <= set(range(11)) | {255}


def test_room_and_teacher_flags(bench, tmp_path, write_run):
    summary = {
        'supervised': {'evaluated': [20.0, 22.0]},
        'supervised-full': {'evaluated': [60.0, 62.0]},
        'reco': {'evaluated': [40.0, 32.0], 'teacher_last': [40.0, 32.0],
                 'student_last': [41.0, 34.0]},
    }
    lines = room_lines(summary, [0, 1], bench.ROOM_TARGETS, bench.NAMES)
    # seed by seed: (40 - 20) / (60 - 20) = 50%, (32 - 22) / (62 - 22) = 25%
    assert '50%, 25%' in lines[0] and lines[0].endswith('not met')
    summary['reco']['evaluated'] = [40.0, 40.0]
    assert room_lines(summary, [0, 1], bench.ROOM_TARGETS,
                      bench.NAMES)[0].endswith(': met')
    # teacher 36.0 vs student 37.5 on the mean: 1.5 below -> flagged
    flags = teacher_flags(summary, bench.NAMES)
    assert len(flags) == 1 and 'ReCo+ClassMix' in flags[0]
    assert '1.50 mIoU below' in flags[0]
    summary['reco']['student_last'] = [40.5, 32.5]
    assert teacher_flags(summary, bench.NAMES) == []


def _val_run(write_run, path, teacher, student):
    return write_run(path, [
        {'step': 50, 'mIoU': t0, 'teacher/mIoU': t0, 'student/mIoU': s0}
        for t0, s0 in [(teacher[0], student[0])]
    ] + [{'step': 100, 'mIoU': teacher[1], 'teacher/mIoU': teacher[1],
          'student/mIoU': student[1]}])


def test_summary_last_best_and_targets(bench, tmp_path, write_run):
    sup = [write_run(str(tmp_path / f'sup{k}'),
                     [dict(step=50, mIoU=10.0 + k), dict(step=100,
                                                          mIoU=12.0 + k)])
           for k in range(2)]
    semi = [_val_run(write_run, str(tmp_path / f'cm{k}'),
                     teacher=(15.0 + k, 14.0 + k), student=(13.0, 16.0))
            for k in range(2)]
    summary = summarise_runs({'supervised': sup, 'classmix': semi})
    assert summary['supervised'] == {
        'evaluated': [12.0, 13.0], 'student_last': [12.0, 13.0],
        'student_best': [12.0, 13.0]}
    assert summary['classmix']['evaluated'] == [14.0, 15.0]
    assert summary['classmix']['teacher_best'] == [15.0, 16.0]
    assert summary['classmix']['student_last'] == [16.0, 16.0]
    table = summary_markdown(summary, bench.NAMES, reference=20.0)
    assert '| ClassMix | 14.5 ± 0.5 | 15.5 ± 0.5 | 16.0 ± 0.0 | 16.0 ± 0.0 ' \
        '| 72.5% | 14.00 / 15.00 |' in table
    targets = [('classmix', 'supervised', 2.0)]
    lines = target_lines(summary, [0, 1], targets, bench.NAMES)
    # last: +2, +2 -> met (>= 2 on every seed); best: +3, +3 -> met
    assert lines[0].endswith('met') and '+2.00 mIoU' in lines[0]
    assert 'not met' not in lines[0]
    summary['classmix']['evaluated'] = [14.5, 14.0]  # one seed +1.0
    assert target_lines(summary, [0, 1], targets,
                        bench.NAMES)[0].endswith('not met')
    # the benchmark's target: ClassMix >= Supervised + 3 on every seed
    assert ('classmix', 'supervised', 3.0) in bench.TARGETS


def test_no_pretrained(bench, tmp_path):
    args = bench.parse_args(['--no-pretrained'])
    cfg = bench.run_config(bench.METHODS['supervised'][1], str(tmp_path), 0,
                           args)
    assert cfg.model.segmentor.backbone.get('init_cfg') is None


def test_finished_runs_are_kept_only_with_same_settings(bench, tmp_path,
                                                        write_run):
    import json
    args = bench.parse_args(['--iters', '100'])
    settings = bench.run_settings('reco', 1, args)
    run = write_run(str(tmp_path / 'reco' / 'seed1'),
                    [dict(step=50, mIoU=1.0), dict(step=100, mIoU=2.0)])
    assert not bench.finished(run, settings)  # no settings file
    with open(osp.join(run, 'benchmark_run.json'), 'w') as f:
        json.dump(settings, f)
    assert not bench.finished(run, settings)  # no final checkpoint
    open(osp.join(run, 'iter_100.pth'), 'w').close()
    assert bench.finished(run, settings)
    other = bench.run_settings('reco', 1, bench.parse_args(
        ['--iters', '100', '--no-pretrained']))
    assert not bench.finished(run, other)


def test_projected_time(bench):
    todo = [(0, 'a'), (0, 'b'), (1, 'a'), (1, 'b')]
    # after the first run (a: 10 s): everything at 10 s, one at a time
    assert bench.projected({('a', 0): 10.0}, todo, 1) == 40.0
    # after two runs: each method at its own time
    assert bench.projected({('a', 0): 10.0, ('b', 0): 30.0}, todo, 1) == 80.0
    # two runs at a time share the wall time
    assert bench.projected({('a', 0): 10.0, ('b', 0): 30.0}, todo, 2) == 40.0


def test_jobs_and_threads_defaults(bench):
    args = bench.parse_args(['--no-pretrained'])
    assert args.jobs == min(2, os.cpu_count() or 1)
    assert args.threads == max(1, (os.cpu_count() or 1) // args.jobs)
    assert bench.parse_args(['--device', 'cuda']).jobs == 1
    assert bench.parse_args(['--jobs', '3', '--threads', '1']).threads == 1
    with pytest.raises(SystemExit):
        bench.parse_args(['--jobs', '0'])


def test_cfg_options_reach_the_run_and_its_settings(bench, tmp_path):
    args = bench.parse_args([
        '--iters', '100', '--cfg-options',
        'model.method_losses.0.betas=[0,0,4,4]',
        'model.semi_train_cfg.rampup_iters=500'
    ])
    cfg = bench.run_config(bench.METHODS['rc2l'][1], str(tmp_path), 0, args,
                           'rc2l')
    term = cfg.model.method_losses[0]
    assert list(term.betas) == [0, 0, 4, 4]
    # the option is in the config's schedule (2000 iterations): scaled
    assert cfg.model.semi_train_cfg.rampup_iters == 25
    plain = bench.parse_args(['--iters', '100'])
    assert 'cfg_options' not in bench.run_settings('rc2l', 0, plain)
    assert bench.run_settings('rc2l', 0, args) != bench.run_settings(
        'rc2l', 0, plain)


def test_finished_run_is_trained_again_when_its_config_changed(
        bench, tmp_path, write_run):
    import json
    args = bench.parse_args(['--iters', '100'])
    config = bench.METHODS['supervised-region'][1]
    run_dir = str(tmp_path / 'supervised-region' / 'seed0')
    cfg = bench.run_config(config, run_dir, 0, args, 'supervised-region')
    settings = bench.run_settings('supervised-region', 0, args,
                                  cfg.pretty_text)
    run = write_run(run_dir, [dict(step=50, mIoU=1.0),
                              dict(step=100, mIoU=2.0)])
    with open(osp.join(run, 'benchmark_run.json'), 'w') as f:
        json.dump(settings, f)
    open(osp.join(run, 'iter_100.pth'), 'w').close()
    again = bench.run_config(config, run_dir, 0, args, 'supervised-region')
    assert bench.finished(run, bench.run_settings(
        'supervised-region', 0, args, again.pretty_text))
    # one value of an inherited file changed: the run is outdated
    again.optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult = 1.0
    assert not bench.finished(run, bench.run_settings(
        'supervised-region', 0, args, again.pretty_text))
