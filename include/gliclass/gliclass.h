// Everything a user of the library needs.
#pragma once
#include "gliclass/classifier.h"
#include "gliclass/error.h"
#include "gliclass/labels.h"
#include "gliclass/version.h"
