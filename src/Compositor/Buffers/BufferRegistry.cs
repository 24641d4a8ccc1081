using Wayland.Server;

namespace Compositor.Buffers;

/// <summary>
/// One <see cref="ClientBuffer"/> per wl_buffer, made on first attach and kept until the client destroys the
/// wl_buffer: whatever was learned about a buffer (its import, or why it failed) is learned once, not per frame.
/// Buffer kinds other than wl_shm (linux-dmabuf) register a factory.
/// </summary>
public sealed class BufferRegistry
{
    readonly Dictionary<nint, (ClientBuffer Buffer, IDisposable Listener)> _buffers = new();
    readonly List<Func<nint, ClientBuffer?>> _factories = new() { ShmClientBuffer.TryCreate };

    public int Count => _buffers.Count;

    public void AddFactory(Func<nint, ClientBuffer?> factory) => _factories.Insert(0, factory);

    /// <summary>The buffer behind a wl_buffer resource, or null when no buffer kind recognises it.</summary>
    public ClientBuffer? Get(nint resource)
    {
        if (_buffers.TryGetValue(resource, out var known)) return known.Buffer;
        foreach (var f in _factories)
        {
            if (f(resource) is not { } buffer) continue;
            var listener = Resource.ListenForDestroy(resource, () => Forget(resource));
            _buffers[resource] = (buffer, listener);
            return buffer;
        }
        return null;
    }

    void Forget(nint resource)
    {
        if (!_buffers.Remove(resource, out var entry)) return;
        entry.Listener.Dispose();
        entry.Buffer.MarkDestroyed();
    }
}
