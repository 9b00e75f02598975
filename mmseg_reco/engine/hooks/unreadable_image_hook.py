"""Count the unreadable unlabelled images skipped, and log them."""
from typing import Dict, Optional, Sequence

from mmengine.hooks import Hook, LoggerHook
from mmseg.registry import HOOKS

from mmseg_reco.datasets.image_files import UNREADABLE_KEY


@HOOKS.register_module()
class UnreadableImageHook(Hook):
    """Log the unlabelled images that could not be read and were skipped.

    :class:`~mmseg_reco.datasets.UnlabelledDataset` (``on_unreadable=
    'skip'``) replaces an unreadable image by another and lists the skipped
    paths in the replacing sample's meta information (key
    ``'unreadable_skipped'``). The samples reach the main process with the
    batch, whatever the number of data-loader workers, so this hook reads
    them from ``data_batch`` after each iteration and, at every log
    interval (the ``LoggerHook``'s unless ``interval`` is given) once a
    file was skipped, logs a warning such as::

        unreadable unlabelled images skipped so far: 3 files (5 draws
        replaced); first: 'data/x/a.png', 'data/x/b.png', 'data/x/c.png'

    The totals are also in ``runner.message_hub``'s runtime information
    under ``'unreadable_images'`` (``dict(files=int, draws=int,
    first=list)``). They count this process's batches (one rank) since
    the run (or the resume) started.

    Example config::

        custom_hooks = [..., dict(type='UnreadableImageHook')]

    Args:
        interval (int, optional): Log every ``interval`` iterations; None
            follows the ``LoggerHook``. Default: None.
        max_names (int): How many file names to show. Default: 5.
    """
    priority = 'NORMAL'

    def __init__(self,
                 interval: Optional[int] = None,
                 max_names: int = 5) -> None:
        if interval is not None and interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval
        self.max_names = max_names
        # insertion-ordered: the first files skipped come first
        self.files: Dict[str, None] = {}
        self.draws = 0

    def before_train(self, runner) -> None:
        if self.interval is None:
            intervals = [
                h.interval for h in runner.hooks if isinstance(h, LoggerHook)
            ]
            self.interval = intervals[0] if intervals else 50

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        samples: Sequence = ()
        if isinstance(data_batch, dict):
            samples = data_batch.get('data_samples') or ()
        for sample in samples:
            metainfo = getattr(sample, 'metainfo', {})
            for path in metainfo.get(UNREADABLE_KEY, ()):
                self.draws += 1
                self.files.setdefault(path, None)
        if not self.files:
            return
        first = list(self.files)[:self.max_names]
        runner.message_hub.update_info(
            'unreadable_images',
            dict(files=len(self.files), draws=self.draws, first=first))
        if self.every_n_train_iters(runner, self.interval):
            more = len(self.files) - len(first)
            shown = ', '.join(repr(p) for p in first) + (
                f' and {more} more' if more > 0 else '')
            runner.logger.warning(
                'unreadable unlabelled images skipped so far: '
                f'{len(self.files)} files ({self.draws} draws replaced); '
                f'first: {shown}. Run tools/check_data.py on the config '
                'to list them all')
