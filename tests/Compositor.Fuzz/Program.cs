using Compositor.Fuzz;

var o = new FuzzOptions();
string? replay = null, resultsFile = null;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--seed": o.Seed = ulong.Parse(Next()); break;
        case "--iterations": o.Iterations = long.Parse(Next()); break;
        case "--first": o.First = long.Parse(Next()); break;
        case "--requests": o.Requests = int.Parse(Next()); break;
        case "--replay": replay = Next(); break;
        case "--compositor": o.Compositor = Next(); break;
        case "--check-every": o.CheckEvery = int.Parse(Next()); break;
        case "--warmup": o.Warmup = int.Parse(Next()); break;
        case "--rss-tolerance-kb": o.RssToleranceKb = long.Parse(Next()); break;
        case "--trace": o.Trace = Console.Out; break;
        case "--scenario":
            o.Scenario = Next();
            if (!Generator.ScenarioNames.Contains(o.Scenario)) { Console.Error.WriteLine($"scenarios: {string.Join(", ", Generator.ScenarioNames)}"); return 2; }
            break;
        case "--results": resultsFile = Next(); break;
        case "--help":
        case "-h":
            Console.WriteLine("""
                Compositor.Fuzz: a structured Wayland protocol fuzzer (one connection per iteration)
                  --iterations N     connections to run (default 100)
                  --requests M       requests per connection (default 40)
                  --seed S           the stream: iteration i of seed S is always the same requests (default 1)
                  --first I          first iteration (default 0)
                  --replay S:I       run exactly iteration I of seed S, printing its requests
                  --compositor CMD   the compositor command; {socket} is replaced by the socket name (appended as
                                     --socket={socket} when absent); "weston" = weston --backend=headless-backend.so.
                                     Default: $COMPOSITOR_BIN or artifacts/compositor/compositor, headless
                  --check-every K    fd and RSS check every K iterations (default 100; always at the end)
                  --warmup W         well-behaved clients run before the baseline is taken (default 5)
                  --rss-tolerance-kb T  RSS allowed above the baseline at a check (default 16384)
                  --trace            print every request
                  --scenario NAME    only this hostile scenario, repeated (names: see Generator.ScenarioNames)
                  --results FILE     also write the totals to FILE
                Exit code 0 when there was no crash, no hang, fd drift 0 and RSS within tolerance.
                """);
            return 0;
        default: Console.Error.WriteLine($"unknown option {args[i]} (--help)"); return 2;
    }
}
if (replay != null)
{
    var parts = replay.Split(':');
    o.Seed = ulong.Parse(parts[0]);
    o.First = long.Parse(parts[1]);
    o.Iterations = 1;
    o.Trace ??= Console.Out;
    o.Warmup = 1;
}
var totals = Fuzzer.Run(o);
string summary = totals.Summary(o, o.Compositor ?? Target.DefaultCommand());
Console.Write(summary);
if (resultsFile != null) File.WriteAllText(resultsFile, summary);
return totals.Clean ? 0 : 1;
