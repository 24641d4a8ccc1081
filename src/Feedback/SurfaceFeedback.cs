namespace Feedback;

/// <summary>
/// A surface's feedback: the default tranches, with a scanout tranche in front while the backend says the surface
/// could go on a plane if only its buffer had another format or modifier. <see cref="Changed"/> fires only when
/// the resulting feedback differs from what was last published, so a backend may call
/// <see cref="SetScanoutTranche"/> every frame without causing re-sends.
/// </summary>
public sealed class SurfaceFeedback
{
    DmabufFeedback _default;

    public SurfaceFeedback(DmabufFeedback defaultFeedback)
    {
        _default = defaultFeedback;
        Current = defaultFeedback;
    }

    public DmabufFeedback Current { get; private set; }
    public Tranche? ScanoutTranche { get; private set; }
    public event Action<DmabufFeedback>? Changed;

    public void SetScanoutTranche(Tranche? scanout)
    {
        ScanoutTranche = scanout;
        Rebuild();
    }

    public void SetDefault(DmabufFeedback d)
    {
        _default = d;
        Rebuild();
    }

    void Rebuild()
    {
        var next = ScanoutTranche == null ? _default
            : DmabufFeedback.Create(_default.MainDevice, _default.Tranches.Prepend(ScanoutTranche));
        if (next.Equals(Current)) return;
        Current = next;
        Changed?.Invoke(next);
    }
}
