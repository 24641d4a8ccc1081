namespace Compositor.Scene;

/// <summary>What gives a wl_surface its meaning (xdg_toplevel, xdg_popup, subsurface). A surface keeps its role
/// kind for life; the role object may be destroyed and a new one of the same kind made.</summary>
public interface ISurfaceRole
{
    /// <summary>The role kind, as the protocol names it ("xdg_toplevel", "wl_subsurface", ...).</summary>
    string Name { get; }

    /// <summary>Checks a commit before it is applied; throws <see cref="Wayland.Server.ProtocolErrorException"/>
    /// for a commit the role's protocol forbids.</summary>
    void PreCommit(Surface surface, SurfaceState pending);

    /// <summary>Runs after the committed state became current.</summary>
    void Committed(Surface surface);
}

/// <summary>Per-surface protocol state that takes part in every commit, whatever the role (wlroots' surface
/// addons): explicit-sync objects check the commit and add its fences as blockers.</summary>
public interface ISurfaceAddon
{
    /// <summary>Checks the committed state (throws <see cref="Wayland.Server.ProtocolErrorException"/>) and adds
    /// what the commit must wait for to <see cref="SurfaceState.Blockers"/>.</summary>
    void PreCommit(Surface surface, SurfaceState pending);
}
