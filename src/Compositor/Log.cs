namespace Compositor;

public enum LogLevel { Debug, Info, Warning, Error }

/// <summary>Leveled log lines on stderr, prefixed with the monotonic time since start (as weston does).</summary>
public static class Log
{
    static readonly long Start = System.Diagnostics.Stopwatch.GetTimestamp();
    public static LogLevel Level { get; set; } = LogLevel.Info;

    public static bool IsEnabled(LogLevel level) => level >= Level;
    public static void Debug(string message) => Write(LogLevel.Debug, message);
    public static void Info(string message) => Write(LogLevel.Info, message);
    public static void Warning(string message) => Write(LogLevel.Warning, message);
    public static void Error(string message) => Write(LogLevel.Error, message);

    public static void Write(LogLevel level, string message)
    {
        if (level < Level) return;
        double t = System.Diagnostics.Stopwatch.GetElapsedTime(Start).TotalSeconds;
        string tag = level switch { LogLevel.Debug => "debug", LogLevel.Info => "info", LogLevel.Warning => "warn", _ => "error" };
        Console.Error.WriteLine($"[{t,10:F4}] {tag}: {message}");
    }

    public static bool TryParseLevel(string s, out LogLevel level)
    {
        switch (s.ToLowerInvariant())
        {
            case "debug": level = LogLevel.Debug; return true;
            case "info": level = LogLevel.Info; return true;
            case "warn": case "warning": level = LogLevel.Warning; return true;
            case "error": level = LogLevel.Error; return true;
            default: level = LogLevel.Info; return false;
        }
    }
}
