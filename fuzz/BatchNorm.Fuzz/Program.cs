using System;
using System.IO;
using SharpFuzz;

namespace BatchNorm.Fuzz;

/// <summary>
/// The safetensors reader's fuzz harness (<c>.ci/fuzz SECONDS</c> runs it under AFL++ after instrumenting BatchNorm.dll
/// with SharpFuzz). With no arguments it serves AFL++: each input goes through <see cref="ReaderOracle.Check"/>, and an
/// exception escaping it is a crash. <c>--check FILE…</c> runs the oracle on files (to reproduce a finding) and
/// <c>--write-seeds DIR</c> writes the seed corpus.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length >= 2 && args[0] == "--write-seeds")
        {
            SeedCorpus.Write(args[1]);
            return 0;
        }

        if (args.Length >= 1 && args[0] == "--check")
        {
            int failures = 0;
            foreach (string path in args[1..])
            {
                try
                {
                    bool accepted = ReaderOracle.Check(File.ReadAllBytes(path));
                    Console.WriteLine($"ok       {(accepted ? "accepted" : "refused ")} {path}");
                }
                catch (Exception e)
                {
                    failures++;
                    Console.WriteLine($"FINDING  {path}: {e.GetType().FullName}: {e.Message}");
                }
            }

            return failures == 0 ? 0 : 1;
        }

        WarmUp();
        Fuzzer.Run(stream =>
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            ReaderOracle.Check(copy.ToArray());
        });
        return 0;
    }

    /// <summary>
    /// Runs the seeds once before the first input (JIT, static initializers, pools), so an input's time and allocations
    /// are the reader's own. The instrumented code writes its coverage to <c>Trace.SharedMem</c>, which only
    /// <c>Fuzzer.Run</c> maps to AFL++'s memory: until then it points to a scratch map of the same 64 KiB.
    /// </summary>
    private static unsafe void WarmUp()
    {
        const int MapSize = 1 << 16;
        byte* scratch = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(MapSize);
        SharpFuzz.Common.Trace.SharedMem = scratch;
        foreach ((string _, byte[] bytes) in SeedCorpus.Files())
        {
            ReaderOracle.Check(bytes);
        }

        SharpFuzz.Common.Trace.PrevLocation = 0;
    }
}
