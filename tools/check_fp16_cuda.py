"""Check float16 mixed precision of a cohort on CUDA: `python tools/check_fp16_cuda.py`.

Trains the learning-styles cohort of the "Mixed precision" section of nbs/02_cohort.ipynb (PneumoniaMNIST subset, a
resnet10 teacher, two 'cnn' students, feature flows included) for one epoch with `learn.to_fp16()`, and checks that
the members computed in float16 (autocast on CUDA), that a `GradScaler` scaled the loss, that every member's output
and every distillation term reached the losses in float32, that every loss was finite and that the students trained.
Prints one line and exits 0 (all checks hold) or 1 (the first that does not); exits 2 without checking anything on a
machine without CUDA. The CPU counterpart (`to_bf16()`) is tested in the notebook."""
import sys, warnings

def main()->int:
    import torch
    if not torch.cuda.is_available():
        print('check_fp16_cuda: no CUDA device on this machine: nothing was checked (run it where a GPU is present)')
        return 2
    warnings.filterwarnings('ignore')
    import numpy as np
    from fastai.vision.all import Callback, accuracy, set_seed
    from kdml_nb.data import medmnist_dls
    from kdml_nb.models import make_model
    from kdml_nb.cohort import cohort_learner, CohortMixedPrecision
    from kdml_nb.distill import learning_styles

    class Seen(Callback):
        "What the losses saw at each training batch, and the gradient scale."
        order = 100  # after every knowledge flow
        def __init__(self): self.rows = []
        def after_batch(self):
            if not self.training: return
            terms, scale = self.learn.distill_terms, float(self.learn.scaler.get_scale())
            total = self.learn.loss_grad.detach()/scale  # `loss_grad` was scaled before the backward pass
            self.rows.append(dict(pred={o.dtype for o in self.learn.pred.values()}, terms={t.dtype for t in terms.values()},
                                  n_terms=len(terms), scale=scale,
                                  losses=[float(l) for l in (*self.learn.loss_func.last.values(), *terms.values(), total)]))

    dls = medmnist_dls('pneumoniamnist', subset=256, bs=64, device='cuda')
    set_seed(0)
    learn = cohort_learner(dls, teacher=make_model('resnet10'), students={'a': make_model('cnn'), 'b': make_model('cnn')},
                           cbs=learning_styles(), metrics=accuracy).to_fp16()
    learn.model.cuda()
    before = {k: v.clone() for k,v in learn.member('a').state_dict().items()}
    computed, seen = [], Seen()
    h = learn.member('b').body.register_forward_hook(lambda m,i,o: computed.append(o.dtype))
    try:
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=seen)
    finally: h.remove()
    rows = seen.rows
    checks = [
        ('the cohort ran on CUDA', next(learn.model.parameters()).is_cuda),
        ('a CohortMixedPrecision callback was attached', any(isinstance(cb, CohortMixedPrecision) for cb in learn.cbs)),
        (f'every training batch was seen ({len(rows)} of {len(dls.train)})', len(rows) == len(dls.train)),
        (f'the members computed in float16 (saw {set(computed)})', set(computed) == {torch.float16}),
        (f'a GradScaler scaled the loss (scales {sorted({r["scale"] for r in rows})})', all(r['scale'] > 1 for r in rows)),
        ('every output reached the losses in float32', set().union(*[r['pred'] for r in rows]) == {torch.float32}),
        ('every distillation term is float32', set().union(*[r['terms'] for r in rows]) == {torch.float32}),
        ('six distillation terms per batch', {r['n_terms'] for r in rows} == {6}),
        ('every loss and term is finite', all(np.isfinite(r['losses']).all() for r in rows)),
        ('the validation losses and metrics are finite', bool(np.isfinite(learn.recorder.values[-1]).all())),
        ('student a trained', any(not torch.equal(v, learn.member('a').state_dict()[k]) for k,v in before.items())),
        ('autocast was left', not torch.is_autocast_enabled('cuda')),
    ]
    bad = [what for what,ok in checks if not ok]
    if bad:
        print(f'check_fp16_cuda: FAILED: {bad[0]}')
        return 1
    r = rows[-1]
    print(f'check_fp16_cuda: ok: {len(rows)} float16 batches on {torch.cuda.get_device_name()}, loss scale {r["scale"]:g}, '
          f'{r["n_terms"]} float32 terms, all losses finite (last total {r["losses"][-1]:.4f})')
    return 0

if __name__ == '__main__':
    try: sys.exit(main())
    except Exception as e:
        print(f'check_fp16_cuda: FAILED: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}')
        sys.exit(1)
