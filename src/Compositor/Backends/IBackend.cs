namespace Compositor.Backends;

/// <summary>What drives the screens (libweston's backend vtable, reduced to what differs between backends):
/// it makes the outputs; each output owns its repaint clock and how a frame reaches the screen.</summary>
public interface IBackend : IDisposable
{
    string Name { get; }
    /// <summary>Creates the outputs and adds them to the server.</summary>
    void Start(Server server);
}
