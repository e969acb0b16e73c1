using System;
using Experiments;

// The claims about batch norm, measured: one subcommand per experiment, "all" (the default), --quick, --output DIR.
// Usage: dotnet run -c Release --project samples/Experiments -- --help
return ExperimentsCommand.Run(args, Console.Out, Console.Error);
