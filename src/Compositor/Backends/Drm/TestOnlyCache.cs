namespace Compositor.Backends.Drm;

/// <summary>
/// Outcomes of TEST_ONLY commits by an output's complete plane configuration: for each of its planes the
/// framebuffer, source, destination and whether it carries an IN_FENCE_FD, or off. The kernel's answer depends on that configuration, not on the
/// frame, so an unchanged scene, or a client alternating between its few buffers, is tested once per
/// configuration instead of once per plane tried per frame (each test is an ioctl that builds and checks a whole
/// atomic state). Framebuffers are compared by reference: an id the kernel reuses after RmFB belongs to a new
/// object and misses. The owner clears the cache whenever the device may no longer be in the state the outcomes
/// were proved against (a modeset, a commit the kernel refused).
/// </summary>
sealed class TestOnlyCache
{
    readonly PlaneContent?[][] _configs;
    readonly bool[] _outcomes;
    int _count, _next;

    public TestOnlyCache(int planes, int capacity = 8)
    {
        _configs = new PlaneContent?[capacity][];
        for (int i = 0; i < capacity; i++) _configs[i] = new PlaneContent?[planes];
        _outcomes = new bool[capacity];
    }

    public bool TryGet(PlaneContent?[] config, out bool passed)
    {
        for (int i = 0; i < _count; i++)
        {
            if (!Same(_configs[i], config)) continue;
            passed = _outcomes[i];
            return true;
        }
        passed = false;
        return false;
    }

    /// <summary>Remembers an outcome, replacing the oldest when full (a scene cycles through few configurations).</summary>
    public void Add(PlaneContent?[] config, bool passed)
    {
        config.CopyTo(_configs[_next], 0);
        _outcomes[_next] = passed;
        _next = (_next + 1) % _configs.Length;
        _count = Math.Min(_count + 1, _configs.Length);
    }

    public void Clear()
    {
        for (int i = 0; i < _count; i++) Array.Clear(_configs[i]); // drop the framebuffer references
        _count = _next = 0;
    }

    static bool Same(PlaneContent?[] a, PlaneContent?[] b)
    {
        for (int i = 0; i < a.Length; i++)
            if (!PlaneContent.SameScanout(a[i], b[i])) return false;
        return true;
    }
}
